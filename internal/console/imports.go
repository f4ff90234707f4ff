package console

import (
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/queue"
)

// listRow is an import as the imports page lists it.
type listRow struct {
	ID          int64
	AccountID   int64
	State       string
	Progress    int
	Running     bool
	DryRun      bool
	Counts      map[string]int
	Rows        int
	Errors      int
	Warnings    int
	UploadedBy  string
	CreatedAt   time.Time
	FileName    string
	OtherAcount bool
}

type listData struct {
	Imports []listRow
	States  []struct{ Value, Label string }
	State   string
	Held    int
	Page    int
	More    bool
	// PrevPage and NextPage are the neighbouring pages' numbers.
	PrevPage, NextPage int
}

const perPage = 25

// listImports lists the imports of the token's account and its
// sub-accounts, newest first, those waiting for approval first of all.
func (c *Console) listImports(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, "imports")
	p.Title = "Imports"
	t := sessionOf(r).Token
	d := listData{States: states, State: r.URL.Query().Get("state")}
	d.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	d.Page = max(d.Page, 1)
	d.PrevPage, d.NextPage = d.Page-1, d.Page+1
	f := queue.Filter{AccountID: t.AccountID, Subtree: true, States: []string{}, Limit: perPage + 1, Offset: (d.Page - 1) * perPage}
	if d.State != "" {
		f.States = []string{d.State}
	}
	list, err := queue.List(r.Context(), c.db, f)
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	if d.More = len(list) > perPage; d.More {
		list = list[:perPage]
	}
	held, err := queue.List(r.Context(), c.db, queue.Filter{AccountID: t.AccountID, Subtree: true, States: []string{"awaiting_approval"}, Limit: 100})
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	d.Held = len(held)
	for _, i := range list {
		d.Imports = append(d.Imports, rowOf(i, t.AccountID))
	}
	// What waits for an administrator comes first on the page.
	slices.SortStableFunc(d.Imports, func(a, b listRow) int {
		return boolRank(b.State == "awaiting_approval") - boolRank(a.State == "awaiting_approval")
	})
	p.Data = d
	c.render(w, r, "imports", http.StatusOK, p)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func rowOf(i queue.Import, account int64) listRow {
	var params struct {
		DryRun bool `json:"dry_run"`
	}
	_ = json.Unmarshal(i.Params, &params)
	var data struct {
		Counts map[string]int `json:"counts"`
	}
	_ = json.Unmarshal(i.Data, &data)
	row := listRow{ID: i.ID, AccountID: i.AccountID, State: i.WorkflowState, Progress: i.Progress, Running: i.Running(),
		DryRun: params.DryRun, Counts: data.Counts, UploadedBy: i.TokenName, CreatedAt: i.CreatedAt, FileName: i.FileName,
		OtherAcount: i.AccountID != account}
	for k, n := range data.Counts {
		switch k {
		case "error_count":
			row.Errors = n
		case "warning_count":
			row.Warnings = n
		default:
			row.Rows += n
		}
	}
	if !row.Running {
		row.Progress = 100
	}
	return row
}

// newImportForm shows the upload form; a read_only token sees why it has none.
func (c *Console) newImportForm(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, "new")
	p.Title = "New import"
	p.Data = newImportData{Formats: Formats()}
	c.render(w, r, "new", http.StatusOK, p)
}

type newImportData struct {
	Formats []Format
}

// createImport streams the form to the API's create route: the CSRF token
// must be the form's first field; the file and the options follow as the
// API reads them (docs/api.md#create-parameters), empty ones left out.
func (c *Console) createImport(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, "new")
	p.Title = "New import"
	mr, err := r.MultipartReader()
	if err != nil {
		c.fail(w, r, p, errs.New(errs.Invalid, "malformed_request", "the form did not arrive as a file upload: %v", err))
		return
	}
	first, err := mr.NextPart()
	if err != nil || first.FormName() != "csrf" {
		c.fail(w, r, p, errCrossSite)
		return
	}
	got, _ := io.ReadAll(io.LimitReader(first, 256))
	if !sameToken(string(got), sessionOf(r).CSRF) {
		c.fail(w, r, p, errCrossSite)
		return
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(forwardForm(mr, mw))
	}()
	var created struct {
		ID int64 `json:"id"`
	}
	_, err = c.call(r, http.MethodPost, "/api/v1/accounts/self/sis_imports", mw.FormDataContentType(), pr, &created)
	// The API may stop reading early (an error): the copy then ends at its
	// next write, before the request's body goes away.
	_ = pr.CloseWithError(io.ErrClosedPipe)
	<-done
	if err != nil {
		p.Error = err.Error()
		p.Data = newImportData{Formats: Formats()}
		c.render(w, r, "new", statusOf[errs.KindOf(err)], p)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/console/imports/%d", created.ID), http.StatusSeeOther)
}

// forwardForm copies the browser's form into the API's: the file as the
// field attachment, every other field with a value as it is.
func forwardForm(mr *multipart.Reader, mw *multipart.Writer) error {
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return mw.Close()
		}
		if err != nil {
			return err
		}
		name := part.FormName()
		if name == "attachment" {
			if part.FileName() == "" {
				continue // no file chosen: the API says what is missing
			}
			dst, err := mw.CreateFormFile("attachment", part.FileName())
			if err != nil {
				return err
			}
			if _, err := io.Copy(dst, part); err != nil {
				return err
			}
			continue
		}
		v, err := io.ReadAll(io.LimitReader(part, 64<<10))
		if err != nil {
			return err
		}
		if len(v) == 0 || (name == "import_type" && string(v) == "detect") {
			continue
		}
		if err := mw.WriteField(name, string(v)); err != nil {
			return err
		}
	}
}
