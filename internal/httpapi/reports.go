package httpapi

import (
	"encoding/csv"
	"net/http"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// provisioningReport answers the current objects of the account's subtree
// as a CSV in the import format, to edit and import again.
func (s *Server) provisioningReport(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if typ := r.URL.Query().Get("type"); typ != "users" {
		s.writeError(w, r, errs.New(errs.Invalid, "invalid_value", "parameter type: %q is not users (courses and enrollments come with those file types)", typ))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="users.csv"`)
	cw := csv.NewWriter(w)
	err = directory.ReportUsers(r.Context(), s.db, acct, func(row []string) error {
		return cw.Write(row)
	})
	cw.Flush()
	if err != nil {
		s.log.Error("provisioning report", "account_id", acct.ID, "err", err)
	}
}
