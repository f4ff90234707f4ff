package httpapi

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/queue"
	"github.com/sisimport/sisimport/internal/result"
)

// resultFilter reads the results filters and the keyset cursor of a request.
func resultFilter(r *http.Request, i queue.Import) (result.Filter, error) {
	q := r.URL.Query()
	f := result.Filter{ImportID: i.ID, Limit: 10,
		Actions: append(q["action[]"], q["action"]...), Codes: append(q["code[]"], q["code"]...),
		File: q.Get("file"), Entity: q.Get("entity"), SISID: q.Get("sis_id")}
	if i.ResultsAttempt != nil {
		f.Attempt = *i.ResultsAttempt
	} else {
		f.Attempt = -1 // no results until the import commits them
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, errs.New(errs.Invalid, "invalid_value", "parameter per_page: %q is not a positive integer", v)
		}
		f.Limit = min(n, 100)
	}
	if v := q.Get("page"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, perr := strconv.ParseInt(string(b), 10, 64)
		if err != nil || perr != nil {
			return f, errs.New(errs.Invalid, "invalid_value", "parameter page: not a cursor from a Link header")
		}
		f.After = n
	}
	return f, nil
}

func cursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func wantsCSV(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/csv") || r.URL.Query().Get("format") == "original"
}

// getResults answers the per-row results (docs/api.md#results-and-errors) as JSON pages, or as
// one CSV of every matching row.
func (s *Server) getResults(w http.ResponseWriter, r *http.Request) {
	i, err := s.importOf(r)
	if err == nil && r.URL.Query().Get("phase") == "restore" {
		// The outcomes of restore_states are the results of its job.
		i, err = queue.RestoreJobOf(r.Context(), s.db, i.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f, err := resultFilter(r, i)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wantsCSV(r) {
		s.streamResultsCSV(w, r, i, f)
		return
	}
	page, err := result.List(r.Context(), s.db, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	links := map[string]string{"current": withParam(r, "page", cursor(f.After)), "first": withParam(r, "page", cursor(0))}
	if len(page) == f.Limit {
		links["next"] = withParam(r, "page", cursor(page[len(page)-1].ID))
	}
	setLinks(w, r, links)
	if page == nil {
		page = []result.Stored{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"sis_import_results": page})
}

// streamResultsCSV writes all matching results, a keyset page at a time.
// format=original gives the failed rows in their own columns instead.
func (s *Server) streamResultsCSV(w http.ResponseWriter, r *http.Request, i queue.Import, f result.Filter) {
	original := r.URL.Query().Get("format") == "original"
	var headers map[string][]string
	if original {
		f.Actions = []string{result.Failed}
		var d struct {
			Files []result.FileInfo `json:"files"`
		}
		_ = json.Unmarshal(i.Data, &d)
		headers = map[string][]string{}
		for _, fi := range d.Files {
			headers[fi.File] = fi.Header
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sis_import_`+strconv.FormatInt(i.ID, 10)+`_results.csv"`)
	cw := csv.NewWriter(w)
	f.Limit = 5000
	lastFile := "\x00"
	if !original {
		_ = cw.Write([]string{"sis_import_id", "file", "row", "entity", "sis_id", "object_id", "action", "code", "message", "changes"})
	}
	for {
		page, err := result.List(r.Context(), s.db, f)
		if err != nil {
			s.log.Error("stream results", "import_id", i.ID, "err", err)
			return
		}
		for _, res := range page {
			if original {
				if res.File != lastFile {
					// Each file's failed rows come under that file's own header.
					_ = cw.Write(append(append([]string{}, headers[res.File]...), "sis_import_error"))
					lastFile = res.File
				}
				_ = cw.Write(escapeFormulas(originalRow(len(headers[res.File]), res.RowInfo, deref(res.Message))))
				continue
			}
			_ = cw.Write(escapeFormulas([]string{strconv.FormatInt(res.SISImportID, 10), res.File, intOrEmpty(res.Row),
				res.Entity, deref(res.SISID), int64OrEmpty(res.ObjectID), res.Action, deref(res.Code), deref(res.Message), string(res.Changes)}))
		}
		cw.Flush()
		if len(page) < f.Limit {
			return
		}
		f.After = page[len(page)-1].ID
	}
}

// originalRow is a failed row in its file's columns, width of them, with
// its error under sis_import_error, the column after them: a row that was
// shorter gets empty cells, and the cells of a row that was wider come after
// the error, so that nothing it held is lost. A row the reader could not
// split has no cells of its own (rowInfo nil).
func originalRow(width int, rowInfo *string, msg string) []string {
	var fields []string
	if rowInfo != nil {
		fields, _ = csv.NewReader(strings.NewReader(*rowInfo)).Read() // written by encoding/csv: it reads back
	}
	row := make([]string, width, max(width, len(fields))+1)
	copy(row, fields)
	row = append(row, msg)
	if len(fields) > width {
		row = append(row, fields[width:]...)
	}
	return row
}

// escapeFormulas keeps spreadsheets from running cells as formulas.
func escapeFormulas(cells []string) []string {
	for i, c := range cells {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			cells[i] = "'" + c
		}
	}
	return cells
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func intOrEmpty(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}

func int64OrEmpty(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}
