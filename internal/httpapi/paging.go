package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// page is Canvas's numbered pagination: per_page (default 10, max 100) and page.
type page struct {
	PerPage, Page int
}

func parsePage(q url.Values) (page, error) {
	p := page{PerPage: 10, Page: 1}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, errs.New(errs.Invalid, "invalid_value", "parameter per_page: %q is not a positive integer", v)
		}
		p.PerPage = min(n, 100)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, errs.New(errs.Invalid, "invalid_value", "parameter page: %q is not a positive integer", v)
		}
		p.Page = n
	}
	return p, nil
}

func (p page) offset() int { return (p.Page - 1) * p.PerPage }

// setLinks writes the RFC 5988 Link header Canvas clients follow.
func setLinks(w http.ResponseWriter, r *http.Request, links map[string]string) {
	var parts []string
	for _, rel := range []string{"current", "next", "prev", "first"} {
		if q, ok := links[rel]; ok {
			u := url.URL{Path: r.URL.Path, RawQuery: q}
			parts = append(parts, fmt.Sprintf("<%s>; rel=%q", u.String(), rel))
		}
	}
	if len(parts) > 0 {
		w.Header().Set("Link", strings.Join(parts, ", "))
	}
}

// withParam is the request's query with one parameter set to v.
func withParam(r *http.Request, name, v string) string {
	q := r.URL.Query()
	q.Del("access_token")
	q.Set(name, v)
	return q.Encode()
}

// numberedLinks are the Link relations of a numbered page; more says whether
// another page follows.
func numberedLinks(w http.ResponseWriter, r *http.Request, p page, more bool) {
	pp := strconv.Itoa(p.PerPage)
	link := func(n int) string {
		q := r.URL.Query()
		q.Del("access_token")
		q.Set("page", strconv.Itoa(n))
		q.Set("per_page", pp)
		return q.Encode()
	}
	links := map[string]string{"current": link(p.Page), "first": link(1)}
	if more {
		links["next"] = link(p.Page + 1)
	}
	if p.Page > 1 {
		links["prev"] = link(p.Page - 1)
	}
	setLinks(w, r, links)
}

// onePage trims a list fetched with PerPage+1 rows to its page, writes the
// Link header, and returns the page, never nil, so that it encodes as [].
func onePage[T any](w http.ResponseWriter, r *http.Request, p page, list []T) []T {
	more := len(list) > p.PerPage
	if more {
		list = list[:p.PerPage]
	}
	numberedLinks(w, r, p, more)
	if list == nil {
		list = []T{}
	}
	return list
}

// writeList answers the page the query asks for of what belongs to the
// object id, as a bare JSON array, as Canvas's lists are. list is one of
// directory's lists of that shape: limit rows from offset.
func writeList[T any](s *Server, w http.ResponseWriter, r *http.Request, id int64,
	list func(ctx context.Context, db *pgxpool.Pool, id int64, limit, offset int) ([]T, error)) {
	p, err := parsePage(r.URL.Query())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rows, err := list(r.Context(), s.db, id, p.PerPage+1, p.offset())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, onePage(w, r, p, rows))
}
