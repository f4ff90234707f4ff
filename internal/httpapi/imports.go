package httpapi

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/importer"
	"github.com/sisimport/sisimport/internal/queue"
)

// workflowStates are the values workflow_state[] may filter on.
var workflowStates = []string{"created", "importing", "cleanup_batch", "awaiting_approval", "imported",
	"imported_with_messages", "failed", "failed_with_messages", "aborted", "restoring", "restored", "partially_restored"}

func (s *Server) writeImport(w http.ResponseWriter, r *http.Request, i queue.Import) {
	blocked, err := queue.BlockedBy(r.Context(), s.db, i)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sisImportView(i, blocked))
}

// importOf resolves {account_id} and {id} of the path, in one query.
func (s *Server) importOf(r *http.Request) (queue.Import, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return queue.Import{}, errs.ErrNotFound
	}
	t := tokenOf(r)
	match, args, err := directory.AccountMatch(chi.URLParam(r, "account_id"), t.AccountID, t.RootAccountID, 2)
	if err != nil {
		return queue.Import{}, err
	}
	return queue.GetInAccount(r.Context(), s.db, id, match, args...)
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request) {
	i, err := s.importOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeImport(w, r, i)
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, nil)
}

func (s *Server) listImporting(w http.ResponseWriter, r *http.Request) {
	s.list(w, r, []string{"importing"})
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, states []string) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	p, err := parsePage(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := queue.Filter{AccountID: acct.ID, States: states, Limit: p.PerPage + 1, Offset: p.offset()}
	if states == nil {
		f.States = []string{}
		// As Canvas reads them: a state it does not know (such as its
		// "initializing") is dropped, and none known is no filter.
		for _, st := range append(q["workflow_state[]"], q["workflow_state"]...) {
			if slices.Contains(workflowStates, st) {
				f.States = append(f.States, st)
			}
		}
	}
	for name, dst := range map[string]**time.Time{"created_since": &f.CreatedSince, "created_before": &f.CreatedBefore} {
		if t, ok := leniently(q.Get(name)); ok {
			*dst = &t
		}
	}
	imports, err := queue.List(r.Context(), s.db, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	imports = onePage(w, r, p, imports)
	out := make([]sisImportJSON, 0, len(imports))
	for _, i := range imports {
		blocked, err := queue.BlockedBy(r.Context(), s.db, i)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out = append(out, sisImportView(i, blocked))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sis_imports": out})
}

// leniently reads a time of a list filter as Canvas does: ISO 8601 in any
// of the forms the files take, a "+" of its zone that a client did not
// encode (a space, once decoded) included; anything else is no filter.
func leniently(v string) (time.Time, bool) {
	if t, ok := importer.ParseDate(v); ok {
		return t, true
	}
	if i := strings.LastIndexByte(v, ' '); i > 0 {
		return importer.ParseDate(v[:i] + "+" + v[i+1:])
	}
	return time.Time{}, false
}

// changeImport answers a state change of one import (abort, approve), one
// conditional UPDATE in queue; routes.go says which role it needs.
func (s *Server) changeImport(change func(ctx context.Context, db *pgxpool.Pool, accountID, id int64) (queue.Import, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		i, err := s.importOf(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if i, err = change(r.Context(), s.db, i.AccountID, i.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeImport(w, r, i)
	}
}

func (s *Server) abortAllPending(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := queue.AbortAllPending(r.Context(), s.db, acct.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"aborted": true})
}

// getImportFile streams the upload as stored: its password cells blanked,
// so not before the import ends (docs/api.md#the-sisimport-object).
func (s *Server) getImportFile(w http.ResponseWriter, r *http.Request) {
	i, err := s.importOf(r)
	switch {
	case err != nil:
		s.writeError(w, r, err)
		return
	case i.PurgedAt != nil:
		s.writeError(w, r, errs.New(errs.NotFound, "purged", "import %d's upload was removed by retention on %s", i.ID, i.PurgedAt.UTC().Format(time.RFC3339)))
		return
	case i.FileSecrets:
		s.writeError(w, r, errs.New(errs.Conflict, "file_has_secrets", "import %d's upload holds passwords until the import ends; download it then", i.ID))
		return
	}
	ct := "text/csv" // in the encoding it came in
	if i.FileType == "zip" {
		ct = "application/zip"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": i.FileName}))
	f := queue.OpenFile(r.Context(), s.db, i.ID)
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		s.log.Warn("send upload", slog.Int64("import", i.ID), slog.Any("err", err))
	}
}
