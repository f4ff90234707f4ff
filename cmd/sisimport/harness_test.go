package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/client"
	"github.com/sisimport/sisimport/internal/config"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// service is a running sisimport (API and workers) on its own database.
type service struct {
	t     *testing.T
	db    *pgxpool.Pool
	url   string // the database's URL
	base  string // http://127.0.0.1:port
	token string // admin token of account 1
	stops []func()
}

// startService starts the real wiring on a random port; tweak may change
// the configuration first.
func startService(t *testing.T, tweak func(*config.Config)) *service {
	t.Helper()
	db, url := pgtest.New(t)
	s := &service{t: t, db: db, url: url}
	s.start(tweak)
	s.token = s.newToken(1, auth.Admin)
	return s
}

// start runs one more replica on the same database and returns its base URL.
func (s *service) start(tweak func(*config.Config)) string {
	t := s.t
	cfg, err := config.Load([]string{"DATABASE_URL=" + s.url, "SISIMPORT_ADDR=127.0.0.1:0",
		"SISIMPORT_LEASE_SECONDS=5", "SISIMPORT_POLL_SECONDS=0.2", "SISIMPORT_SHUTDOWN_GRACE_SECONDS=5"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogLevel = slog.LevelWarn
	if tweak != nil {
		tweak(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serveConfig(ctx, cfg, func(addr string) { ready <- addr }) }()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("service did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("service did not start in 30s")
	}
	stopped := false
	s.stops = append(s.stops, func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("service stopped with %v", err)
		}
	})
	t.Cleanup(s.stop)
	if s.base == "" {
		s.base = base
	}
	return base
}

// stop stops every replica that start started, as a SIGTERM would.
func (s *service) stop() {
	for _, stop := range s.stops {
		stop()
	}
}

func (s *service) newToken(account int64, role auth.Role) string {
	s.t.Helper()
	_, secret, err := auth.Create(context.Background(), s.db, account, "test "+string(role), role, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return secret
}

// account makes an account under parent (0: a root account) with an SIS
// id (none when empty).
func (s *service) account(name string, parent int64, sis string) directory.Account {
	s.t.Helper()
	var p *int64
	if parent != 0 {
		p = &parent
	}
	a, err := directory.CreateAccount(context.Background(), s.db, name, p, sis)
	if err != nil {
		s.t.Fatal(err)
	}
	return a
}

// do sends a request with the admin token and returns status and body.
func (s *service) do(method, path string, body io.Reader, header map[string]string) (int, []byte, http.Header) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for k, v := range header {
		if k == "Authorization" && v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := contractDo(s.t, req) // checks the answer against api/openapi.yaml
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// getJSON GETs path, requires 200 and decodes the body into v.
func (s *service) getJSON(path string, v any) http.Header {
	s.t.Helper()
	code, b, h := s.do("GET", path, nil, nil)
	if code != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		s.t.Fatalf("GET %s: %v in %s", path, err, b)
	}
	return h
}

// sisImport is the part of the SisImport object the tests read.
type sisImport struct {
	ID                 int64            `json:"id"`
	WorkflowState      string           `json:"workflow_state"`
	Progress           int              `json:"progress"`
	StartedAt          *time.Time       `json:"started_at"`
	EndedAt            *time.Time       `json:"ended_at"`
	ProcessingWarnings [][2]string      `json:"processing_warnings"`
	ProcessingErrors   [][2]string      `json:"processing_errors"`
	ErrorsAttachment   *json.RawMessage `json:"errors_attachment"`
	CSVAttachments     []struct {
		URL         string `json:"url"`
		Filename    string `json:"filename"`
		ContentType string `json:"content-type"`
	} `json:"csv_attachments"`
	BatchMode       bool    `json:"batch_mode"`
	BatchModeTermID *string `json:"batch_mode_term_id"`
	Data            struct {
		Counts     map[string]int            `json:"counts"`
		Actions    map[string]map[string]int `json:"actions"`
		Applied    bool                      `json:"applied"`
		Supplied   []string                  `json:"supplied_batches"`
		Statistics map[string]any            `json:"statistics"`
	} `json:"data"`
}

// upload posts a CSV as the multipart field attachment, as Canvas clients do.
func (s *service) upload(account, params, csv string) sisImport {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("attachment", "users.csv")
	if err == nil {
		_, err = part.Write([]byte(csv))
	}
	if err != nil {
		s.t.Fatal(err)
	}
	mw.Close()
	path := "/api/v1/accounts/" + account + "/sis_imports"
	if params != "" {
		path += "?" + params
	}
	code, b, _ := s.do("POST", path, &body, map[string]string{"Content-Type": mw.FormDataContentType()})
	if code != http.StatusOK {
		s.t.Fatalf("upload: %d %s", code, b)
	}
	var i sisImport
	if err := json.Unmarshal(b, &i); err != nil {
		s.t.Fatal(err)
	}
	return i
}

// wait polls the import until its progress reads 100, as clients do.
func (s *service) wait(account string, id int64) sisImport {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		var i sisImport
		s.getJSON(fmt.Sprintf("/api/v1/accounts/%s/sis_imports/%d", account, id), &i)
		if i.Progress == 100 {
			return i
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("import %d still %s after 60s", id, i.WorkflowState)
		}
	}
	panic("unreachable")
}

// importCSV uploads and waits.
func (s *service) importCSV(params, csv string) sisImport {
	s.t.Helper()
	i := s.upload("1", params, csv)
	return s.wait("1", i.ID)
}

type result struct {
	File     string                    `json:"file"`
	Row      *int                      `json:"row"`
	Entity   string                    `json:"entity"`
	SISID    *string                   `json:"sis_id"`
	ObjectID *int64                    `json:"object_id"`
	Action   string                    `json:"action"`
	Code     *string                   `json:"code"`
	Message  *string                   `json:"message"`
	Changes  map[string][2]interface{} `json:"changes"`
}

// results reads every result of an import of account 1, following the Link headers.
func (s *service) results(id int64, query string) []result {
	s.t.Helper()
	return s.resultsIn("1", id, query)
}

// resultsIn reads every result of an import of account.
func (s *service) resultsIn(account string, id int64, query string) []result {
	s.t.Helper()
	var all []result
	path := fmt.Sprintf("/api/v1/accounts/%s/sis_imports/%d/results?per_page=2&%s", account, id, query)
	for path != "" {
		var page struct {
			Results []result `json:"sis_import_results"`
		}
		h := s.getJSON(path, &page)
		all = append(all, page.Results...)
		path = client.NextLink(h.Get("Link"))
	}
	return all
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func decode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

func rfile(r result) string { return r.File }
