package console

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/httpapi"
)

func contextWith(ctx context.Context, s auth.Session) context.Context {
	return context.WithValue(ctx, sessionKey, s)
}

// call makes an in-process API request on behalf of the session's token
// and decodes its JSON answer into out (when not nil). An answer that is
// not a success becomes an error with the API's own message.
func (c *Console) call(r *http.Request, method, path, contentType string, body io.Reader, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(httpapi.AsToken(r.Context(), sessionOf(r).Token), method, path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	c.api.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		return rec.Header(), apiError(rec.Code, rec.Body.Bytes())
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return rec.Header(), err
		}
	}
	return rec.Header(), nil
}

// apiError turns the API's error answer back into the error it was.
func apiError(code int, body []byte) error {
	var e struct {
		Errors []struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"errors"`
	}
	msg := http.StatusText(code)
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		msg = e.Errors[0].Message
	}
	kind := errs.Invalid
	switch code {
	case http.StatusUnauthorized:
		kind = errs.Unauthorized
	case http.StatusForbidden:
		kind = errs.Forbidden
	case http.StatusNotFound:
		kind = errs.NotFound
	case http.StatusConflict:
		kind = errs.Conflict
	case http.StatusRequestEntityTooLarge:
		kind = errs.TooLarge
	}
	if code >= 500 {
		kind = errs.Internal
	}
	return errs.New(kind, "api", "%s", msg)
}

// stream passes an API answer (a download) straight to the browser.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, path, accept string) {
	req, err := http.NewRequestWithContext(httpapi.AsToken(r.Context(), sessionOf(r).Token), http.MethodGet, path, nil)
	if err != nil {
		c.fail(w, r, c.page(r, ""), err)
		return
	}
	req.Header.Set("Accept", accept)
	c.api.ServeHTTP(w, req)
}

// isUpload is the new-import form's POST, a multipart stream.
func isUpload(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "multipart/form-data" && strings.HasSuffix(r.URL.Path, "/imports/new")
}
