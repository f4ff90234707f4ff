// Package client speaks sisimport's HTTP API (docs/api.md) for the
// command-line client: uploads, imports, their results, approve and abort.
// It uses the public API only, as any other client would.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is a connection to one sisimport server with one token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New checks the server's address and returns a client for it. base may
// be given with or without a trailing /api/v1.
func New(base, token string) (*Client, error) {
	if base == "" {
		return nil, errors.New("no server address: set SISIMPORT_URL or --url (e.g. http://localhost:8080)")
	}
	if token == "" {
		return nil, errors.New("no token: set SISIMPORT_TOKEN or --token (make run prints one; sisimport tokens create makes others)")
	}
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSuffix(base, "/"), "/api/v1"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server address %q is not an http:// or https:// URL", base)
	}
	// No overall timeout: an upload of a large file may take minutes.
	// Reads of JSON have theirs (answerTimeout).
	return &Client{base: u, token: token, http: &http.Client{}}, nil
}

// URL is the absolute address of an API path, for people to read.
func (c *Client) URL(path string) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// ImportPath is the path of an import, or of the account's imports when id
// is 0.
func ImportPath(account string, id int64) string {
	p := "/api/v1/accounts/" + url.PathEscape(account) + "/sis_imports"
	if id != 0 {
		p += fmt.Sprintf("/%d", id)
	}
	return p
}

// answerTimeout bounds a request whose answer is a JSON object or page,
// so that a server that accepts connections and never answers does not
// hang a nightly job.
const answerTimeout = time.Minute

// Error is a request that did not succeed: the server refused it (Status
// set) or did not answer (Err set).
type Error struct {
	Op      string // what was asked, in words: "upload users.csv"
	Server  string // the server's address
	Status  int    // 0 when there was no answer
	Code    string // the API's error code, when it gave one
	Message string // the API's message
	Err     error  // the network error when there was no answer
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: no answer from %s: %v (is the server running, and is SISIMPORT_URL right?)", e.Op, e.Server, e.Err)
	}
	msg := fmt.Sprintf("%s: the server answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += "; check SISIMPORT_TOKEN"
	case http.StatusNotFound:
		msg += "; check the id, and --account (SISIMPORT_ACCOUNT): a token reaches its own account and those below it"
	case http.StatusForbidden:
		if e.Code != "rate_limited" {
			msg += "; the token's role does not allow this (docs/api.md#authentication-and-roles)"
		}
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Refused says whether the server answered and refused the request for a
// reason that asking again will not change (a 4xx other than a rate
// limit): a bad token, a role, an unknown import, an invalid file.
func (e *Error) Refused() bool {
	return e.Status >= 400 && e.Status < 500 && e.Code != "rate_limited" && e.Status != http.StatusTooManyRequests
}

// do sends a request with the token and returns the answer when it is a
// 2xx; anything else is an *Error. The caller closes the body.
func (c *Client) do(ctx context.Context, op, method, path string, query url.Values, body io.Reader, size int64, header http.Header) (*http.Response, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if body != nil {
		req.ContentLength = size
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "sisimport-cli")
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		return nil, &Error{Op: op, Server: c.base.String(), Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	e := &Error{Op: op, Server: c.base.String(), Status: resp.StatusCode}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var answer struct {
		Errors []struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &answer) == nil && len(answer.Errors) > 0 {
		e.Code, e.Message = answer.Errors[0].Code, answer.Errors[0].Message
	} else {
		e.Message = strings.TrimSpace(string(bytes.ToValidUTF8(b[:min(len(b), 200)], nil)))
	}
	return nil, e
}

// getJSON GETs path and decodes the answer into v; it returns the answer's
// Link header's next page, if any.
func (c *Client) getJSON(ctx context.Context, op, path string, query url.Values, v any) (next string, err error) {
	ctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	resp, err := c.do(ctx, op, http.MethodGet, path, query, nil, 0, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := decode(resp.Body, v); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	return NextLink(resp.Header.Get("Link")), nil
}

func decode(r io.Reader, v any) error {
	if err := json.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("the answer is not the JSON expected: %w", err)
	}
	return nil
}

// NextLink is the rel="next" address of an RFC 5988 Link header (the
// pages of results and lists); "" on the last page.
func NextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if ok && strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}
