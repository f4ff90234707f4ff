package httpapi

import (
	"context"
	"encoding/csv"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// reports are the provisioning reports, by type: each streams a header and
// rows of the file of that type.
var reports = map[string]func(context.Context, *pgxpool.Pool, directory.Account, func([]string) error) error{
	"users":       directory.ReportUsers,
	"courses":     directory.ReportCourses,
	"enrollments": directory.ReportEnrollments,
}

// provisioningReport answers the current objects of the account's subtree
// as a CSV in the import format, to edit and import again.
func (s *Server) provisioningReport(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	typ := r.URL.Query().Get("type")
	report, ok := reports[typ]
	if !ok {
		s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter type: %q is not users, courses or enrollments", typ))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+typ+`.csv"`)
	cw := csv.NewWriter(w)
	err = report(r.Context(), s.db, acct, func(row []string) error {
		return cw.Write(row)
	})
	cw.Flush()
	if err != nil {
		s.log.Error("provisioning report", "account_id", acct.ID, "type", typ, "err", err)
	}
}
