package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/queue"
	"github.com/sisimport/sisimport/internal/result"
)

// importView is the SisImport object as the API answers it, the part the
// page shows.
type importView struct {
	ID                 int64      `json:"id"`
	WorkflowState      string     `json:"workflow_state"`
	Progress           int        `json:"progress"`
	CreatedAt          time.Time  `json:"created_at"`
	StartedAt          *time.Time `json:"started_at"`
	EndedAt            *time.Time `json:"ended_at"`
	DryRun             bool       `json:"dry_run"`
	BlockedBy          *int64     `json:"blocked_by"`
	RowsPerSecond      *int64     `json:"rows_per_second"`
	EtaSeconds         *int64     `json:"eta_seconds"`
	ProcessingWarnings [][2]string
	ProcessingErrors   [][2]string
	RawWarnings        json.RawMessage `json:"processing_warnings"`
	RawErrors          json.RawMessage `json:"processing_errors"`
	User               struct {
		Name string `json:"name"`
	} `json:"user"`
	CSVAttachments []struct {
		Filename string `json:"filename"`
	} `json:"csv_attachments"`
	Data struct {
		ImportType      string                    `json:"import_type"`
		Counts          map[string]int            `json:"counts"`
		Actions         map[string]map[string]int `json:"actions"`
		Applied         bool                      `json:"applied"`
		WouldHold       bool                      `json:"would_hold"`
		PlannedRemovals map[string]int            `json:"planned_removals"`
		Files           []result.FileInfo         `json:"files"`
	} `json:"data"`
	AccountID int64
	FileName  string
	// stored is the import's row, as loadImport found it.
	stored queue.Import
}

// Running says whether the page should follow the import live.
func (v importView) Running() bool {
	return v.WorkflowState == "created" || v.WorkflowState == "importing" || v.WorkflowState == "restoring"
}

// actionOrder is the order of actions in tables and filters.
var actionOrder = []string{result.Created, result.Updated, result.Unchanged, result.Deactivated, result.Reactivated,
	result.Deleted, result.Skipped, result.Failed}

// loadImport finds import id within the token's reach, then reads it as
// the API answers it.
func (c *Console) loadImport(r *http.Request) (importView, error) {
	var v importView
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		return v, errs.New(errs.NotFound, "not_found", "There is no import %q.", chi.URLParam(r, "id"))
	}
	job, err := queue.GetJob(r.Context(), c.db, id, sessionOf(r).Token.AccountID)
	if err == nil && job.Kind != "import" {
		err = errs.ErrNotFound
	}
	if errs.KindOf(err) == errs.NotFound {
		return v, errs.New(errs.NotFound, "not_found", "There is no import %d in the reach of your token's account.", id)
	}
	if err != nil {
		return v, err
	}
	if _, err := c.call(r, http.MethodGet, importPath(job.AccountID, id, ""), "", nil, &v); err != nil {
		return v, err
	}
	_ = json.Unmarshal(v.RawWarnings, &v.ProcessingWarnings)
	_ = json.Unmarshal(v.RawErrors, &v.ProcessingErrors)
	v.AccountID, v.FileName, v.stored = job.AccountID, job.FileName, job
	return v, nil
}

func importPath(account, id int64, rest string) string {
	return fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d%s", account, id, rest)
}

// importData is what the import page shows.
type importData struct {
	Import   importView
	Actions  []string
	Types    []string
	Filter   url.Values
	Results  []result.Stored
	Next     string
	First    string
	Planned  []result.Stored
	Restore  *queue.Import
	CanApply bool
	NoApply  string
}

// importPage is a handler of a page about the import of the URL: h runs
// once the import is loaded, and the page says why when it cannot be.
func (c *Console) importPage(h func(http.ResponseWriter, *http.Request, page, importView)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := c.page(r, "imports")
		v, err := c.loadImport(r)
		if err != nil {
			c.fail(w, r, p, err)
			return
		}
		h(w, r, p, v)
	}
}

func (c *Console) showImport(w http.ResponseWriter, r *http.Request, p page, v importView) {
	p.Title = fmt.Sprintf("Import %d", v.ID)
	d := importData{Import: v, Filter: r.URL.Query()}
	for _, a := range actionOrder {
		if v.Data.Actions["total"][a] > 0 {
			d.Actions = append(d.Actions, a)
		}
	}
	for t := range v.Data.Actions {
		if t != "total" {
			d.Types = append(d.Types, t)
		}
	}
	slices.Sort(d.Types)
	if !v.Running() {
		q := url.Values{"per_page": {"50"}}
		for _, k := range []string{"action", "code", "file", "entity", "sis_id", "page"} {
			if val := d.Filter.Get(k); val != "" {
				q.Set(k, val)
			}
		}
		var next string
		var err error
		if d.Results, next, err = c.results(r, v, q); err != nil {
			c.fail(w, r, p, err)
			return
		}
		fq := r.URL.Query()
		fq.Del("page")
		d.First = "?" + fq.Encode() + "#results"
		if next != "" {
			nq := r.URL.Query()
			nq.Set("page", next)
			d.Next = "?" + nq.Encode() + "#results"
		}
	}
	if v.WorkflowState == "awaiting_approval" {
		q := url.Values{"per_page": {"20"}, "action[]": {result.Deleted, result.Deactivated}}
		var err error
		if d.Planned, _, err = c.results(r, v, q); err != nil {
			c.fail(w, r, p, err)
			return
		}
	}
	if v.WorkflowState == "restoring" {
		if job, err := queue.RestoreJobOf(r.Context(), c.db, v.ID); err == nil {
			d.Restore = &job
		}
	}
	d.CanApply, d.NoApply = applicable(v)
	p.Data = d
	c.render(w, r, "import", http.StatusOK, p)
}

// results reads one page of the import's results that q selects from the
// API, and the cursor of the page after it ("" for none).
func (c *Console) results(r *http.Request, v importView, q url.Values) ([]result.Stored, string, error) {
	var page struct {
		Results []result.Stored `json:"sis_import_results"`
	}
	h, err := c.call(r, http.MethodGet, importPath(v.AccountID, v.ID, "/results?"+q.Encode()), "", nil, &page)
	return page.Results, nextCursor(h.Get("Link")), err
}

var nextLink = regexp.MustCompile(`<[^>]*[?&]page=([^&>]+)[^>]*>;\s*rel="next"`)

// nextCursor is the page cursor of the Link header's next page.
func nextCursor(link string) string {
	m := nextLink.FindStringSubmatch(link)
	if m == nil {
		return ""
	}
	v, _ := url.QueryUnescape(m[1])
	return v
}

// applicable says whether a dry run can be applied, and if not, why.
func applicable(v importView) (bool, string) {
	if !v.DryRun || v.Running() {
		return false, ""
	}
	if len(v.CSVAttachments) == 0 {
		return false, "Its upload was removed by retention: upload the file again to apply it."
	}
	for _, f := range v.Data.Files {
		if slices.Contains(f.Header, "password") || slices.Contains(f.Header, "ssha_password") {
			return false, "Its file holds passwords, which are blanked in stored uploads once an import ends: upload the file again without dry run to apply it."
		}
	}
	return true, ""
}

// progressJSON is what the live script reads.
type progressJSON struct {
	State    string `json:"state"`
	Label    string `json:"label"`
	Progress int    `json:"progress"`
	Running  bool   `json:"running"`
	Detail   string `json:"detail"`
}

// progress answers the live progress of an import (or of its restore).
func (c *Console) progress(w http.ResponseWriter, r *http.Request) {
	v, err := c.loadImport(r)
	if err != nil {
		w.WriteHeader(statusOf[errs.KindOf(err)])
		return
	}
	out := progressJSON{State: v.WorkflowState, Label: stateLabel(v.WorkflowState), Progress: v.Progress, Running: v.Running(), Detail: detail(v)}
	if v.WorkflowState == "restoring" {
		if job, err := queue.RestoreJobOf(r.Context(), c.db, v.ID); err == nil {
			out.Progress = job.Progress
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// detail is the line under a running import's bar.
func detail(v importView) string {
	switch {
	case v.WorkflowState == "created" && v.BlockedBy != nil:
		return fmt.Sprintf("Waiting for import %d to end.", *v.BlockedBy)
	case v.WorkflowState == "created":
		return "Queued; a worker picks it up shortly."
	case v.RowsPerSecond != nil && v.EtaSeconds != nil:
		return fmt.Sprintf("%d rows a second, about %s left.", *v.RowsPerSecond, time.Duration(*v.EtaSeconds)*time.Second)
	case v.RowsPerSecond != nil:
		return fmt.Sprintf("%d rows a second.", *v.RowsPerSecond)
	}
	return ""
}

// download passes the API's CSV of the results, or of the failed rows in
// their original columns (format=original), to the browser.
func (c *Console) download(w http.ResponseWriter, r *http.Request, p page, v importView) {
	switch chi.URLParam(r, "what") {
	case "results":
		c.stream(w, r, importPath(v.AccountID, v.ID, "/results"), "text/csv")
	case "failed":
		c.stream(w, r, importPath(v.AccountID, v.ID, "/results?format=original"), "text/csv")
	default:
		c.fail(w, r, p, errs.New(errs.NotFound, "not_found", "There is no download %q.", chi.URLParam(r, "what")))
	}
}

// confirmRestore asks before a restore.
func (c *Console) confirmRestore(w http.ResponseWriter, r *http.Request, p page, v importView) {
	p.Title = fmt.Sprintf("Restore import %d?", v.ID)
	p.Data = importData{Import: v}
	c.render(w, r, "restore", http.StatusOK, p)
}

// act runs a button of the import page. Each is the API's route, whose
// role and rules apply; Apply this file, which the API has no route for,
// needs what creating an import needs.
func (c *Console) act(w http.ResponseWriter, r *http.Request, p page, v importView) {
	target := v.ID
	var err error
	switch action := chi.URLParam(r, "action"); action {
	case "abort", "discard":
		_, err = c.call(r, http.MethodPut, importPath(v.AccountID, v.ID, "/abort"), "", nil, nil)
	case "approve":
		_, err = c.call(r, http.MethodPut, importPath(v.AccountID, v.ID, "/approve"), "", nil, nil)
	case "restore":
		_, err = c.call(r, http.MethodPut, importPath(v.AccountID, v.ID, "/restore_states"), "", nil, nil)
	case "apply":
		target, err = c.apply(r, v)
	default:
		err = errs.New(errs.NotFound, "not_found", "There is no action %q for an import.", action)
	}
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/imports/%d", target), http.StatusSeeOther)
}

// apply queues a dry run's stored file again for real.
func (c *Console) apply(r *http.Request, v importView) (int64, error) {
	t := sessionOf(r).Token
	if !t.Role.Allows(auth.SISImport) {
		return 0, errs.New(errs.Forbidden, "forbidden", "Applying a file makes an import, which needs the role sis_import or admin.")
	}
	if ok, why := applicable(v); !ok {
		if why == "" {
			why = fmt.Sprintf("Import %d is not a finished dry run.", v.ID)
		}
		return 0, errs.New(errs.Conflict, "conflict", "%s", why)
	}
	i, err := queue.ApplyDryRun(r.Context(), c.db, v.stored, t.ID, t.Name)
	return i.ID, err
}
