package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// Login is one of a user's logins as Canvas's Login object shows it
// (docs/api.md#logins): the user's own login (the users row's, whose id is
// the user's id) or an extra one from logins.csv (ids from the same
// sequence as users', so no login id is ever shown twice).
type Login struct {
	AccountID     int64   `json:"account_id"`
	ID            int64   `json:"id"`
	SISUserID     *string `json:"sis_user_id"`
	IntegrationID *string `json:"integration_id"`
	UniqueID      string  `json:"unique_id"`
	UserID        int64   `json:"user_id"`
	// AuthenticationProviderID is the provider's id when logins.csv gave an
	// integer; AuthenticationProviderType the text it gave otherwise (a
	// provider type such as "saml"). There are no provider objects here.
	AuthenticationProviderID   *int64    `json:"authentication_provider_id"`
	AuthenticationProviderType *string   `json:"authentication_provider_type"`
	WorkflowState              string    `json:"workflow_state"`
	DeclaredUserType           *string   `json:"declared_user_type"`
	CreatedAt                  time.Time `json:"created_at"`
}

// ListLogins lists the user's logins that are not deleted, as Canvas does:
// the user's own login first, then the extra ones by id.
func ListLogins(ctx context.Context, db *pgxpool.Pool, userID int64, limit, offset int) ([]Login, error) {
	rows, err := db.Query(ctx, `SELECT root_account_id, id, sis_user_id, integration_id, login_id, id, NULL::text, workflow_state, created_at, 0 AS own
			FROM users WHERE id = $1 AND workflow_state <> 'deleted'
		UNION ALL
		SELECT root_account_id, id, sis_user_id, integration_id, unique_id, user_id, authentication_provider_id, workflow_state, created_at, 1
			FROM logins WHERE user_id = $1 AND workflow_state <> 'deleted'
		ORDER BY own, 2 LIMIT $2 OFFSET $3`, userID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("list logins: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Login, error) {
		var l Login
		var provider *string
		var own int
		err := r.Scan(&l.AccountID, &l.ID, &l.SISUserID, &l.IntegrationID, &l.UniqueID, &l.UserID, &provider, &l.WorkflowState, &l.CreatedAt, &own)
		if provider != nil {
			if id, err := strconv.ParseInt(*provider, 10, 64); err == nil {
				l.AuthenticationProviderID = &id
			} else {
				l.AuthenticationProviderType = provider
			}
		}
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list logins: %w", err)
	}
	return out, nil
}

// userOfLogin is the user whose extra login has the SIS id, 0 for none:
// Canvas finds a user by the SIS id of any of their logins.
func userOfLogin(ctx context.Context, db *pgxpool.Pool, root int64, sis string) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `SELECT user_id FROM logins WHERE root_account_id = $1 AND sis_user_id = $2`, root, sis).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("find login: %w", err)
	}
	return id, nil
}

// heldByLogin fails a manual write that would give a user a login id, SIS
// id or integration id that an extra login holds: they are unique across
// every login of the root account (docs/import-rules.md#logins-files).
// Empty or nil values are not checked.
func heldByLogin(ctx context.Context, db *pgxpool.Pool, root int64, login, sis, integ *string) error {
	arg := func(p *string) any {
		if p == nil || strings.TrimSpace(*p) == "" {
			return nil
		}
		return strings.TrimSpace(*p)
	}
	var code string
	err := db.QueryRow(ctx, `SELECT CASE WHEN lower(unique_id) = lower($2) THEN 'login_taken' WHEN sis_user_id = $3 THEN 'sis_id_taken'
			ELSE 'integration_id_taken' END
		FROM logins WHERE root_account_id = $1 AND (lower(unique_id) = lower($2) OR sis_user_id = $3 OR integration_id = $4)
		ORDER BY 1 DESC LIMIT 1`, root, arg(login), arg(sis), arg(integ)).Scan(&code)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check extra logins: %w", err)
	}
	what := map[string]string{"login_taken": "that login id", "sis_id_taken": "that sis_user_id", "integration_id_taken": "that integration_id"}[code]
	return errs.New(errs.Conflict, code, "%s belongs to an extra login (logins.csv)", what)
}
