package main

// The contract check: every HTTP response the end-to-end tests receive from
// a sisimport they started is validated against api/openapi.yaml, so that
// the spec cannot drift from the code.
//
// Two hooks see the responses:
//
//   - (*service).do sends through contractDo, which reports a response
//     that breaks the contract as an error of the calling test (once per
//     kind of mismatch and test) and lets the test go on;
//   - every other request a test sends to a service on the loopback
//     interface with net/http's default transport (http.Get, an
//     http.Client of its own) goes through contractTransport, installed as
//     http.DefaultTransport when the test binary starts, which answers a
//     response that breaks the contract with an error naming what does not
//     match, so the caller's own error check fails the test.
//
// A response's operation is found by method and path: the path is
// normalised as the service does (a ".json" suffix and a trailing slash
// dropped) and matched below the spec's server URL (/api/v1, or / for the
// operations endpoints); ids such as "self" or "sis_account_id:X" match the
// path parameters as they are. Then:
//
//   - the status must be one the operation documents;
//   - the Content-Type must be one of that response's media types, and the
//     body must decode as it (JSON, CSV, text) and match its schema. Object
//     schemas are closed for this check (see closeResponseSchemas): a field
//     the spec does not document is a mismatch too;
//   - a response the spec documents without content must have no body;
//   - the headers the spec documents for the response must match their
//     schemas (a required one must be present), and the headers clients act
//     on (contractHeaders) must be documented for the response when sent.
//
// A request that matches no operation of the spec fails, unless
// contractExemptions lists it.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// contractExemptions are the requests the spec rightly does not describe:
// deliberately hostile ones that probe what the service answers outside
// its contract. Each is matched by method, exact path (after the service's
// normalisation) and status; an exempted response must still be the
// documented error body (components/schemas/Error as application/json).
var contractExemptions = []struct {
	method, path string
	status       int
	reason       string
}{
	{"GET", "/api/v1/no/such/thing/12345", http.StatusNotFound,
		"api_test.go TestOperationsEndpoints: an unknown path is a 404 and does not become a metrics label"},
}

// contractHeaders are the response headers clients act on: when a response
// carries one, the spec must document it for that response.
var contractHeaders = []string{"Link", "Retry-After", "X-Rate-Limit-Remaining"}

// contractSpec is api/openapi.yaml, loaded and validated once per test binary.
var contractSpec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadContract() (*openapi3.T, routers.Router, error) {
	contractSpec.once.Do(func() {
		path := filepath.Join("..", "..", "api", "openapi.yaml") // go test runs in the package's directory
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(path)
		if err != nil {
			contractSpec.err = fmt.Errorf("contract: load %s: %w", path, err)
			return
		}
		if err := doc.Validate(loader.Context); err != nil {
			contractSpec.err = fmt.Errorf("contract: %s is not a valid OpenAPI document: %w", path, err)
			return
		}
		closeResponseSchemas(doc)
		openapi3filter.RegisterBodyDecoder("text/csv", csvBodyDecoder)
		router, err := gorillamux.NewRouter(doc)
		if err != nil {
			contractSpec.err = fmt.Errorf("contract: router for %s: %w", path, err)
			return
		}
		contractSpec.doc, contractSpec.router = doc, router
	})
	return contractSpec.doc, contractSpec.router, contractSpec.err
}

// closeResponseSchemas makes every object schema of a response that lists
// its properties and says nothing of others closed (additionalProperties:
// false), in memory: a field the service sends that the spec does not
// document is drift too. A schema that allows more fields says so
// (additionalProperties: true or a schema).
func closeResponseSchemas(doc *openapi3.T) {
	closed := false
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		sc := ref.Value
		seen[sc] = true
		if len(sc.Properties) > 0 && sc.AdditionalProperties.Has == nil && sc.AdditionalProperties.Schema == nil {
			sc.AdditionalProperties.Has = &closed
		}
		for _, p := range sc.Properties {
			walk(p)
		}
		for _, refs := range []openapi3.SchemaRefs{sc.OneOf, sc.AnyOf, sc.AllOf, sc.PrefixItems} {
			for _, r := range refs {
				walk(r)
			}
		}
		walk(sc.Items)
		walk(sc.AdditionalProperties.Schema)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for _, mt := range resp.Value.Content {
					walk(mt.Schema)
				}
			}
		}
	}
}

// csvBodyDecoder parses a CSV body (quoting and all) into its text. Records
// may differ in width: results?format=original puts each file's failed rows
// under that file's own header.
func csvBodyDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	if _, err := r.ReadAll(); err != nil {
		return nil, err
	}
	return string(b), nil
}

// contractVerdictKey marks a request sent by contractDo: contractTransport
// leaves its verdict in the *error it holds instead of failing the request.
type contractVerdictKey struct{}

// contractReports counts, per test, the mismatches contractDo reported, so
// that a test polling a broken answer reports it once.
var contractReports sync.Map // *testing.T → *contractReport

type contractReport struct {
	mu   sync.Mutex
	seen map[string]int
}

// contractDo sends req as http.DefaultClient.Do does and reports a response
// that breaks the contract as an error of t.
func contractDo(t *testing.T, req *http.Request) (*http.Response, error) {
	t.Helper()
	if _, _, err := loadContract(); err != nil {
		t.Fatal(err)
	}
	var verdict error
	resp, err := http.DefaultClient.Do(req.WithContext(context.WithValue(req.Context(), contractVerdictKey{}, &verdict)))
	var ce *contractError
	if !errors.As(verdict, &ce) {
		return resp, err
	}
	v, loaded := contractReports.LoadOrStore(t, &contractReport{seen: map[string]int{}})
	r := v.(*contractReport)
	if !loaded {
		t.Cleanup(func() {
			contractReports.Delete(t)
			for key, n := range r.seen {
				if n > 1 {
					t.Logf("contract: %d more responses of %s", n-1, key)
				}
			}
		})
	}
	r.mu.Lock()
	key := ce.key()
	r.seen[key]++
	first := r.seen[key] == 1
	r.mu.Unlock()
	if first {
		t.Error(ce)
	}
	return resp, err
}

// contractTransport checks every response from a service on the loopback
// interface; see the comment at the top of this file.
type contractTransport struct{ next http.RoundTripper }

func init() {
	http.DefaultTransport = contractTransport{next: http.DefaultTransport}
}

func (c contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil || !loopback(req.URL) {
		return resp, err
	}
	body, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		// A body cut off (a service killed mid-answer): hand the caller
		// what came and the same error; there is nothing to validate.
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{rerr}))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	verdict := checkContract(req, resp.StatusCode, resp.Header, body)
	if slot, ok := req.Context().Value(contractVerdictKey{}).(*error); ok {
		*slot = verdict
		return resp, nil
	}
	if verdict != nil {
		return nil, verdict
	}
	return resp, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func loopback(u *url.URL) bool {
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// contractError is a response that breaks the contract.
type contractError struct {
	method, uri string
	status      int
	op          string // the spec's operationId; "" when none matched
	problems    []string
	contentType string
	body        []byte
}

func (e *contractError) Error() string {
	where := ""
	if e.op != "" {
		where = " (operation " + e.op + ")"
	}
	msg := fmt.Sprintf("contract (api/openapi.yaml): %s %s answered %d%s: %s", e.method, e.uri, e.status, where,
		strings.Join(e.problems, "; "))
	if len(e.body) > 0 {
		msg += fmt.Sprintf(" [Content-Type %q, body %.300q]", e.contentType, e.body)
	}
	return msg
}

var digits = regexp.MustCompile(`[0-9]+`)

// key is the kind of mismatch: the same for every response of a poll.
func (e *contractError) key() string {
	op := e.op
	if op == "" {
		op = e.method + " " + digits.ReplaceAllString(strings.SplitN(e.uri, "?", 2)[0], "N")
	}
	var kinds []string
	for _, p := range e.problems {
		p, _, _ = strings.Cut(p, " (value ")
		kinds = append(kinds, digits.ReplaceAllString(p, "N"))
	}
	return fmt.Sprintf("%s %d: %s", op, e.status, strings.Join(kinds, "; "))
}

// checkContract validates one response to req against the spec; nil when
// it matches.
func checkContract(req *http.Request, status int, header http.Header, body []byte) error {
	ce := &contractError{method: req.Method, uri: req.URL.RequestURI(), status: status,
		contentType: header.Get("Content-Type"), body: body}
	note := func(format string, args ...any) {
		ce.problems = append(ce.problems, fmt.Sprintf(format, args...))
	}
	fail := func(format string, args ...any) error {
		note(format, args...)
		return ce
	}
	doc, router, err := loadContract()
	if err != nil {
		return fail("%v", err)
	}
	// The route, on the path as the service normalises it.
	norm := *req.URL
	norm.Path, norm.RawPath = normalisePath(req.URL.Path), ""
	if req.URL.RawPath != "" {
		norm.RawPath = normalisePath(req.URL.RawPath)
	}
	nreq := req.Clone(context.Background())
	nreq.URL, nreq.Host = &norm, ""
	route, params, err := router.FindRoute(nreq)
	if err != nil {
		for _, e := range contractExemptions {
			if e.method == req.Method && e.path == norm.Path && e.status == status {
				return checkErrorBody(doc, header, body, fail)
			}
		}
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			return fail("the spec has no %s operation on this path, and no exemption lists it", req.Method)
		}
		return fail("the spec has no operation for this path, and no exemption lists it")
	}
	ce.op = route.Operation.OperationID
	if req.Method == http.MethodHead {
		return nil
	}
	responses := route.Operation.Responses
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil {
		return fail("status %d is not documented (documented: %s)", status, strings.Join(documentedStatuses(responses), ", "))
	}
	response := ref.Value
	if len(response.Content) == 0 && len(body) > 0 {
		return fail("the spec documents no content for %d, but there is a body", status)
	}
	for _, h := range contractHeaders {
		if header.Get(h) != "" && response.Headers[h] == nil {
			note("header %s: %q is sent but not documented for %d", h, header.Get(h), status)
		}
	}
	if status == http.StatusForbidden && header.Get("Retry-After") == "" && bytes.Contains(body, []byte(`"rate_limited"`)) {
		note("a rate-limited 403 without Retry-After")
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: nreq, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		var what []string
		context := ""
		for _, p := range problems(err) {
			what, context = append(what, p.String()), p.context
		}
		if len(what) > 0 && context != "" {
			note("%s: %s", context, strings.Join(what, "; "))
		} else if len(what) > 0 {
			note("%s", strings.Join(what, "; "))
		}
	}
	if len(ce.problems) > 0 {
		return ce
	}
	return nil
}

// normalisePath folds the variants of a path the service accepts (see
// internal/httpapi.normalizePath): a ".json" suffix and a trailing slash.
// A ".csv" suffix stays: the spec lists the CSV paths it documents.
func normalisePath(p string) string {
	if !strings.HasSuffix(p, ".csv") {
		p = strings.TrimSuffix(p, ".json")
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	return p
}

// checkErrorBody requires the documented error body of an exempted response.
func checkErrorBody(doc *openapi3.T, header http.Header, body []byte, fail func(string, ...any) error) error {
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fail("an exempted answer must be the JSON error body, but Content-Type is %q", ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fail("an exempted answer must be the JSON error body: %v", err)
	}
	schema := doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020(), openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		var ps []string
		for _, p := range problems(err) {
			ps = append(ps, p.String())
		}
		return fail("an exempted answer must be the error body (components/schemas/Error): %s", strings.Join(ps, "; "))
	}
	return nil
}

func documentedStatuses(r *openapi3.Responses) []string {
	var out []string
	for code := range r.Map() {
		out = append(out, code)
	}
	sort.Strings(out)
	return out
}

// problem is one mismatch kin-openapi found: where in the body (a JSON
// pointer; "" when not in the body) and what.
type problem struct {
	context string // kin-openapi's reason for the response, e.g. "response body doesn't match schema"
	at      string
	reason  string
	value   any
	inBody  bool
}

// String is the mismatch, without its context.
func (p problem) String() string {
	if !p.inBody || p.at == "/" { // the reason names the place itself
		return p.reason
	}
	return fmt.Sprintf("at %s: %s (value %.200s)", p.at, p.reason, jsonOf(p.value))
}

// problems splits what kin-openapi found into single mismatches, without its
// dumps of the whole schema and value.
func problems(err error) []problem {
	context := ""
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		context = re.Reason
		if re.Err == nil {
			return []problem{{reason: re.Reason}}
		}
		err = re.Err
	}
	var out []problem
	var walk func(error)
	walk = func(err error) {
		var me openapi3.MultiError
		if errors.As(err, &me) {
			for _, e := range me {
				walk(e)
			}
			return
		}
		var se *openapi3.SchemaError
		if errors.As(err, &se) {
			// The JSON Schema 2020-12 validator nests its errors: report
			// the innermost ones (under oneOf, each branch's).
			var sub openapi3.MultiError
			if se.Origin != nil && errors.As(se.Origin, &sub) {
				walk(sub)
				return
			}
			reason := reasonPrefix.ReplaceAllString(se.Reason, "")
			if reason == "" {
				reason = "does not match " + strconv.Quote(se.SchemaField)
			}
			out = append(out, problem{context: context, at: "/" + strings.Join(se.JSONPointer(), "/"), reason: reason,
				value: se.Value, inBody: true})
			return
		}
		out = append(out, problem{context: context, reason: err.Error()})
	}
	walk(err)
	return out
}

// reasonPrefix is the place a nested error's reason starts with; problem
// names the place itself.
var reasonPrefix = regexp.MustCompile(`^(error at "[^"]*": )?(at '[^']*': )?`)

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// TestContractCheck checks the check itself, on made-up answers.
func TestContractCheck(t *testing.T) {
	t.Parallel()
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	jsonCT := h("Content-Type", "application/json; charset=utf-8")
	imp := `{"id":7,"created_at":"2026-01-02T03:04:05Z","workflow_state":"imported","progress":100,"data":{}}`
	errBody := `{"errors":[{"message":"no","code":"not_found"}]}`
	down := `{"errors":[{"message":"The database is unavailable; try again shortly.","code":"unavailable"}]}`
	for _, c := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		want               string // "" for a match, else part of the mismatch
	}{
		{"an import", "GET", "/api/v1/accounts/1/sis_imports/7", 200, jsonCT, imp, ""},
		{".json and self", "GET", "/api/v1/accounts/self/sis_imports/7.json", 200, jsonCT, imp, ""},
		{"a trailing slash and an SIS id", "GET", "/api/v1/accounts/sis_account_id:A/sis_imports/", 200, jsonCT, `{"sis_imports":[]}`, ""},
		{"an undocumented field", "GET", "/api/v1/accounts/1/sis_imports/7", 200, jsonCT,
			strings.Replace(imp, `"id":7`, `"id":7,"secret":1`, 1), "'secret' not allowed"},
		{"a wrong type", "GET", "/api/v1/accounts/1/sis_imports/7", 200, jsonCT,
			strings.Replace(imp, `"progress":100`, `"progress":"done"`, 1), "at /progress"},
		{"an undocumented status", "GET", "/api/v1/accounts/1/sis_imports/7", 418, jsonCT, errBody, "status 418 is not documented"},
		{"an unknown path", "GET", "/api/v1/nope", 404, jsonCT, errBody, "no operation for this path"},
		{"an unknown method", "DELETE", "/api/v1/accounts/1/sis_imports/7", 404, jsonCT, errBody, "no DELETE operation"},
		{"an exempted path", "GET", "/api/v1/no/such/thing/12345", 404, jsonCT, errBody, ""},
		{"an exempted path without the error body", "GET", "/api/v1/no/such/thing/12345", 404, jsonCT, `{"error":"no"}`, "components/schemas/Error"},
		{"a 503 without Retry-After", "GET", "/api/v1/accounts/1", 503, jsonCT, down, `"Retry-After" missing`},
		{"a 503 with Retry-After", "GET", "/api/v1/accounts/1", 503, h("Content-Type", "application/json", "Retry-After", "5"), down, ""},
		{"an undocumented header", "GET", "/healthz", 200, h("Content-Type", "application/json", "X-Rate-Limit-Remaining", "1.0"),
			`{"status":"ok"}`, "header X-Rate-Limit-Remaining"},
		{"a wrong Content-Type", "GET", "/healthz", 200, h("Content-Type", "text/html"), "<p>ok</p>", "Content-Type"},
		{"a CSV", "GET", "/api/v1/accounts/1/sis_imports/7/errors.csv", 200, h("Content-Type", "text/csv; charset=utf-8"), "a,b\n1,\"2\"\n", ""},
		{"a broken CSV", "GET", "/api/v1/accounts/1/sis_imports/7/errors.csv", 200, h("Content-Type", "text/csv"), "a,b\n1,\"2\n", "decode"},
		{"metrics", "GET", "/metrics", 200, h("Content-Type", "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"), "up 1\n", ""},
		{"a field the spec does not document", "GET", "/api/v1/accounts/1/sis_imports/7", 200, jsonCT,
			strings.Replace(imp, `"data":{}`, `"data":{"rows_per_second":5}`, 1), "'rows_per_second' not allowed"},
	} {
		req, err := http.NewRequest(c.method, "http://127.0.0.1:1"+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = checkContract(req, c.status, c.header, []byte(c.body))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: no mismatch, want one saying %q", c.name, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}
