package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Property is a custom user property of a root account (docs/import-rules.md#user-properties).
type Property struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Options []string `json:"options"`
}

var propertyTypes = []string{"text", "single_choice", "multiple_choice"}

// Normalize checks a definition: a lower-case name, a known type, options
// for choices.
func (p *Property) Normalize() error {
	p.Name = strings.ToLower(strings.TrimSpace(p.Name))
	if p.Name == "" || strings.ContainsAny(p.Name, ",\"\r\n") {
		return errs.New(errs.Invalid, "invalid_value", "name: a property needs a name without commas, quotes or line breaks")
	}
	if !slices.Contains(propertyTypes, p.Type) {
		return errs.New(errs.Invalid, "invalid_value", "type: %q is not text, single_choice or multiple_choice", p.Type)
	}
	if p.Options == nil {
		p.Options = []string{}
	}
	for i, o := range p.Options {
		p.Options[i] = strings.TrimSpace(o)
		if p.Options[i] == "" || (p.Type == "multiple_choice" && strings.Contains(o, ";")) {
			return errs.New(errs.Invalid, "invalid_value", "options: %q is not a valid option", o)
		}
	}
	if p.Type != "text" && len(p.Options) == 0 {
		return errs.New(errs.Invalid, "missing_value", "options: a %s property needs options", p.Type)
	}
	return nil
}

// Choose maps a cell to the stored value: text as given; a choice must equal
// an option (trimmed, case-insensitively) and is stored with the option's
// spelling; multiple_choice takes ;-separated values.
func (p *Property) Choose(cell string) (any, error) {
	switch p.Type {
	case "text":
		return cell, nil
	case "single_choice":
		return p.option(strings.TrimSpace(cell))
	}
	var out []string
	for _, v := range strings.Split(cell, ";") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		o, err := p.option(v)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (p *Property) option(v string) (string, error) {
	for _, o := range p.Options {
		if strings.EqualFold(o, v) {
			return o, nil
		}
	}
	return "", fmt.Errorf("%q is not an option of %s (allowed: %s)", v, p.Name, strings.Join(p.Options, ", "))
}

// ListProperties reads the definitions of a root account.
func ListProperties(ctx context.Context, db *pgxpool.Pool, root int64) ([]Property, error) {
	rows, err := db.Query(ctx, `SELECT name, type, options FROM user_properties WHERE root_account_id = $1 ORDER BY name`, root)
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Property, error) {
		var p Property
		err := r.Scan(&p.Name, &p.Type, &p.Options)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list properties: %w", err)
	}
	return out, nil
}

// CreateProperty defines a property in a root account.
func CreateProperty(ctx context.Context, db *pgxpool.Pool, root int64, p Property) (Property, error) {
	if err := p.Normalize(); err != nil {
		return p, err
	}
	_, err := db.Exec(ctx, `INSERT INTO user_properties (root_account_id, name, type, options) VALUES ($1, $2, $3, $4)`,
		root, p.Name, p.Type, p.Options)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return p, errs.New(errs.Conflict, "exists", "property %q exists", p.Name)
	}
	if err != nil {
		return p, fmt.Errorf("create property: %w", err)
	}
	return p, nil
}

// UpdateProperty changes a definition. Renamed options (renames maps old →
// new spelling) carry their stored values along; removing an option or
// changing the type answers 409 when stored values would no longer fit.
func UpdateProperty(ctx context.Context, db *pgxpool.Pool, root int64, name string, p Property, renames map[string]string) (Property, error) {
	p.Name = name
	if err := p.Normalize(); err != nil {
		return p, err
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return p, fmt.Errorf("update property: %w", err)
	}
	defer tx.Rollback(ctx)
	var old Property
	err = tx.QueryRow(ctx, `SELECT name, type, options FROM user_properties WHERE root_account_id = $1 AND name = $2 FOR UPDATE`,
		root, p.Name).Scan(&old.Name, &old.Type, &old.Options)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, errs.ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("update property: %w", err)
	}
	for from, to := range renames {
		if !slices.Contains(old.Options, from) || !slices.Contains(p.Options, to) {
			return p, errs.New(errs.Invalid, "invalid_value", "rename_options: %q → %q must rename an old option to a new one", from, to)
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET properties = jsonb_set(properties, ARRAY[$2],
				CASE jsonb_typeof(properties->$2) WHEN 'array'
				  THEN (SELECT jsonb_agg(CASE WHEN v = $3 THEN $4 ELSE v END) FROM jsonb_array_elements_text(properties->$2) v)
				  ELSE to_jsonb($4::text) END)
			WHERE root_account_id = $1 AND properties ? $2 AND (properties->>$2 = $3 OR properties->$2 ? $3)`,
			root, p.Name, from, to); err != nil {
			return p, fmt.Errorf("rename option: %w", err)
		}
	}
	// Stored values must still fit: same type, and every stored choice an option.
	var misfits int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM users u WHERE u.root_account_id = $1 AND u.properties ? $2 AND (
			$3 <> $4 OR ($3 = 'single_choice' AND NOT (u.properties->>$2 = ANY($5)))
			OR ($3 = 'multiple_choice' AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(u.properties->$2) v WHERE NOT v = ANY($5))))`,
		root, p.Name, p.Type, old.Type, p.Options).Scan(&misfits); err != nil {
		return p, fmt.Errorf("check stored values: %w", err)
	}
	if misfits > 0 {
		return p, errs.New(errs.Conflict, "conflict", "%d users have values of %s that the new definition would not allow", misfits, p.Name)
	}
	if _, err := tx.Exec(ctx, `UPDATE user_properties SET type = $3, options = $4 WHERE root_account_id = $1 AND name = $2`,
		root, p.Name, p.Type, p.Options); err != nil {
		return p, fmt.Errorf("update property: %w", err)
	}
	return p, tx.Commit(ctx)
}
