package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Edits through the API of accounts, terms, courses, sections and groups
// (docs/api.md#directory): the fields an edit sets that imports write too
// stick, as Canvas's do (docs/import-rules.md#stickiness-and-manual-objects).

// A DateEdit is a date an edit sets: At nil clears it.
type DateEdit struct {
	At *time.Time
}

// An edit is a manual edit of one stored object: the columns it sets, and
// the sticky fields among them.
type edit struct {
	set    []string
	args   []any
	sticky []string
}

// col sets column to v; sticky is the sticky field it is, "" for none.
func (e *edit) col(column string, v any, sticky string) {
	e.args = append(e.args, v)
	e.set = append(e.set, fmt.Sprintf("%s = $%d", column, len(e.args)+1))
	if sticky != "" && !slices.Contains(e.sticky, sticky) {
		e.sticky = append(e.sticky, sticky)
	}
}

// date sets a date column, which sticks under its own name.
func (e *edit) date(column string, d *DateEdit) {
	if d != nil {
		e.col(column, d.At, column)
	}
}

// apply writes the edit to the object id of table in tx, the sticky fields
// it set joining the object's. last_import_id goes: the object is no longer
// as an import left it, so restoring that import leaves it alone.
func (e *edit) apply(ctx context.Context, tx pgx.Tx, table string, id int64) error {
	set := append(slices.Clone(e.set), "updated_at = now()", "last_import_id = NULL",
		fmt.Sprintf("sticky_fields = ARRAY(SELECT DISTINCT f FROM unnest(sticky_fields || $%d::text[]) f ORDER BY f)", len(e.args)+2))
	args := append(append([]any{id}, e.args...), nonNilStrings(e.sticky))
	_, err := tx.Exec(ctx, `UPDATE `+table+` SET `+strings.Join(set, ", ")+` WHERE id = $1`, args...)
	return err
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// inTx runs write in a transaction of db and commits it.
func inTx(ctx context.Context, db *pgxpool.Pool, write func(tx pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := write(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// editError translates a unique violation of one of the constraints into
// a conflict with the message the constraint maps to, which names the
// parameter (sis_id_taken, or integration_id_taken for an
// [integration_id]), and wraps any other database error
// with what failed.
func editError(what string, err error, constraints map[string]string) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if msg, ok := constraints[pgErr.ConstraintName]; ok {
			code := "sis_id_taken"
			if strings.Contains(msg, "[integration_id]") {
				code = "integration_id_taken"
			}
			return errs.New(errs.Conflict, code, "%s", msg)
		}
	}
	if err != nil && errs.KindOf(err) == errs.Internal {
		return fmt.Errorf("%s: %w", what, err)
	}
	return err
}

// text checks a text parameter an edit sets: at most 255 characters, and
// not blank when required.
func text(param string, v *string, required bool) error {
	switch {
	case v == nil:
	case required && strings.TrimSpace(*v) == "":
		return errs.New(errs.Invalid, "missing_value", "%s: must not be blank", param)
	case len(*v) > 255:
		return errs.New(errs.Invalid, "invalid_value", "%s: longer than 255 characters", param)
	}
	return nil
}

// orNull is an identifier an edit sets: an empty one is none.
func orNull(v *string) *string {
	if s := strings.TrimSpace(*v); s != "" {
		return &s
	}
	return nil
}

// datesInOrder refuses an end before the start, as Canvas does, given the
// dates after the edit.
func datesInOrder(param string, start, end *time.Time) error {
	if start != nil && end != nil && end.Before(*start) {
		return errs.New(errs.Invalid, "invalid_value", "%s: the end date is before the start date", param)
	}
	return nil
}

// after is the date an edit leaves: the edit's, or the stored one.
func after(d *DateEdit, stored *time.Time) *time.Time {
	if d != nil {
		return d.At
	}
	return stored
}
