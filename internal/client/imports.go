package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Import is the part of the SisImport object (docs/api.md#the-sisimport-object)
// the client shows.
type Import struct {
	ID                 int64       `json:"id"`
	CreatedAt          time.Time   `json:"created_at"`
	StartedAt          *time.Time  `json:"started_at"`
	EndedAt            *time.Time  `json:"ended_at"`
	WorkflowState      string      `json:"workflow_state"`
	Progress           int         `json:"progress"`
	RowsPerSecond      *int64      `json:"rows_per_second"`
	EtaSeconds         *int64      `json:"eta_seconds"`
	BlockedBy          *int64      `json:"blocked_by"`
	DryRun             bool        `json:"dry_run"`
	ProcessingWarnings [][2]string `json:"processing_warnings"`
	ProcessingErrors   [][2]string `json:"processing_errors"`
	ErrorsAttachment   *File       `json:"errors_attachment"`
	CSVAttachments     []File      `json:"csv_attachments"`
	User               struct {
		Name string `json:"name"`
	} `json:"user"`
	Data struct {
		Counts    map[string]int            `json:"counts"`
		Actions   map[string]map[string]int `json:"actions"`
		Applied   bool                      `json:"applied"`
		WouldHold bool                      `json:"would_hold"`
	} `json:"data"`
}

// File is Canvas's File object, as an import links its upload and its
// errors.
type File struct {
	Filename string `json:"filename"`
	URL      string `json:"url"`
}

// Running says whether the import has yet to reach a state it stays in
// without someone acting.
func (i Import) Running() bool {
	switch i.WorkflowState {
	case "created", "importing", "cleanup_batch", "restoring":
		return true
	}
	return false
}

// FileName is the name the upload was posted under, or "" once retention
// removed it.
func (i Import) FileName() string {
	if len(i.CSVAttachments) == 0 {
		return ""
	}
	return i.CSVAttachments[0].Filename
}

// Upload posts the file at path as a new import of account, as the
// multipart field attachment under the file's own name, so that results
// and warnings name it. params are the create parameters; key, when not
// empty, is sent as Idempotency-Key. wrap, when not nil, wraps the file as
// it is read (for a progress bar). earlier says the server answered with
// an import it made before (under the same key), as its clock tells.
func (c *Client) Upload(ctx context.Context, account, path string, params url.Values, key string, wrap func(io.Reader) io.Reader) (i Import, earlier bool, err error) {
	op := "upload " + filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return Import{}, false, fmt.Errorf("%s: %w", op, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Import{}, false, fmt.Errorf("%s: %w", op, err)
	}
	// The multipart framing is built around the file, so that the file
	// streams from disk and the request has a length.
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("attachment", filepath.Base(path)); err != nil {
		return Import{}, false, fmt.Errorf("%s: %w", op, err)
	}
	prefix := bytes.Clone(head.Bytes())
	head.Reset()
	if err := mw.Close(); err != nil {
		return Import{}, false, fmt.Errorf("%s: %w", op, err)
	}
	var file io.Reader = f
	if wrap != nil {
		file = wrap(f)
	}
	body := io.MultiReader(bytes.NewReader(prefix), file, bytes.NewReader(head.Bytes()))
	header := http.Header{"Content-Type": {mw.FormDataContentType()}}
	if key != "" {
		header.Set("Idempotency-Key", key)
	}
	sent := time.Now()
	resp, err := c.do(ctx, op, http.MethodPost, ImportPath(account, 0), params, body, int64(len(prefix))+st.Size()+int64(head.Len()), header)
	if err != nil {
		return Import{}, false, err
	}
	defer resp.Body.Close()
	if err := decode(resp.Body, &i); err != nil {
		return Import{}, false, fmt.Errorf("%s: %w", op, err)
	}
	// An import made by this request is still queued and younger than the
	// request; one found by its key may be older. The server's own clock
	// decides, to the second of its Date header.
	earlier = i.WorkflowState != "created"
	if now, err := http.ParseTime(resp.Header.Get("Date")); err == nil && !earlier {
		earlier = i.CreatedAt.Before(now.Add(-time.Since(sent) - 2*time.Second))
	}
	return i, earlier, nil
}

// Get reads one import.
func (c *Client) Get(ctx context.Context, account string, id int64) (Import, error) {
	var i Import
	_, err := c.getJSON(ctx, fmt.Sprintf("read import %d", id), ImportPath(account, id), nil, &i)
	return i, err
}

// List reads the account's most recent imports, newest first, at most
// limit of them (100 at most), in the given states (any when none).
func (c *Client) List(ctx context.Context, account string, states []string, limit int) ([]Import, error) {
	q := url.Values{"per_page": {strconv.Itoa(limit)}, "workflow_state[]": states}
	var page struct {
		Imports []Import `json:"sis_imports"`
	}
	_, err := c.getJSON(ctx, "list imports of account "+account, ImportPath(account, 0), q, &page)
	return page.Imports, err
}

// Approve queues a held import again (role admin).
func (c *Client) Approve(ctx context.Context, account string, id int64) (Import, error) {
	return c.change(ctx, fmt.Sprintf("approve import %d", id), ImportPath(account, id)+"/approve")
}

// Abort ends a queued, running or held import.
func (c *Client) Abort(ctx context.Context, account string, id int64) (Import, error) {
	return c.change(ctx, fmt.Sprintf("abort import %d", id), ImportPath(account, id)+"/abort")
}

func (c *Client) change(ctx context.Context, op, path string) (Import, error) {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	resp, err := c.do(ctx, op, http.MethodPut, path, nil, nil, 0, nil)
	if err != nil {
		return Import{}, err
	}
	defer resp.Body.Close()
	var i Import
	if err := decode(resp.Body, &i); err != nil {
		return Import{}, fmt.Errorf("%s: %w", op, err)
	}
	return i, nil
}

// Result is one row's result (docs/api.md#results-and-errors).
type Result struct {
	File     string         `json:"file"`
	Row      int            `json:"row"`
	Entity   string         `json:"entity"`
	SISID    *string        `json:"sis_id"`
	ObjectID *int64         `json:"object_id"`
	Action   string         `json:"action"`
	Code     *string        `json:"code"`
	Message  *string        `json:"message"`
	Changes  map[string]any `json:"changes"`
}

// Results calls each for every result of the import that query selects
// (action[], code[], file, entity, sis_id), page after page.
func (c *Client) Results(ctx context.Context, account string, id int64, query url.Values, each func(Result) error) error {
	op := fmt.Sprintf("read the results of import %d", id)
	q := url.Values{"per_page": {"100"}}
	for k, v := range query {
		q[k] = v
	}
	path := ImportPath(account, id) + "/results"
	for {
		var page struct {
			Results []Result `json:"sis_import_results"`
		}
		next, err := c.getJSON(ctx, op, path, q, &page)
		if err != nil {
			return err
		}
		for _, r := range page.Results {
			if err := each(r); err != nil {
				return err
			}
		}
		if next == "" || len(page.Results) == 0 {
			return nil
		}
		u, err := url.Parse(next)
		if err != nil {
			return fmt.Errorf("%s: the next page's address %q: %w", op, next, err)
		}
		q = u.Query()
	}
}

// ResultsCSV copies the import's results as CSV to w: results.csv, or with
// format=original in query the failed rows in their own columns.
func (c *Client) ResultsCSV(ctx context.Context, account string, id int64, query url.Values, w io.Writer) error {
	op := fmt.Sprintf("read the results of import %d", id)
	resp, err := c.do(ctx, op, http.MethodGet, ImportPath(account, id)+"/results.csv", query, nil, 0, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}
