package httpapi

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/sisimport/sisimport/internal/result"
)

// getErrors lists one import's errors: JSON pages, or all of them as CSV
// (the errors_attachment).
func (s *Server) getErrors(w http.ResponseWriter, r *http.Request) {
	i, err := s.importOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.errors(w, r, i.AccountID, i.ID)
}

// getAccountErrors lists the errors of every import of the account.
func (s *Server) getAccountErrors(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.errors(w, r, acct.ID, 0)
}

func (s *Server) errors(w http.ResponseWriter, r *http.Request, accountID, importID int64) {
	failureOnly := truthy(r.URL.Query().Get("failure")) // Canvas's filter
	if wantsCSV(r) {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"sis_import_id", "file", "row", "code", "message", "row_info"})
		const chunk = 5000
		for off := 0; ; off += chunk {
			list, err := result.ListErrors(r.Context(), s.db, accountID, importID, failureOnly, off, chunk)
			if err != nil {
				s.log.Error("stream errors", "import_id", importID, "err", err)
				return
			}
			for _, e := range list {
				_ = cw.Write(escapeFormulas([]string{strconv.FormatInt(e.SISImportID, 10), e.File, intOrEmpty(e.Row), e.Code, e.Message, deref(e.RowInfo)}))
			}
			cw.Flush()
			if len(list) < chunk {
				return
			}
		}
	}
	p, err := parsePage(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := result.ListErrors(r.Context(), s.db, accountID, importID, failureOnly, p.offset(), p.PerPage+1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sis_import_errors": onePage(w, r, p, list)})
}
