// Package console is the administrators' console in the browser, at
// /console (docs/console.md): pages rendered with html/template, assets
// embedded, sessions in PostgreSQL. What a token may do is decided by the
// API: every change is an in-process API request on behalf of the
// session's token, so the roles, the reach and the rules are the API's.
package console

import (
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Console serves the pages.
type Console struct {
	db    *pgxpool.Pool
	log   *slog.Logger
	api   http.Handler
	pages map[string]*template.Template
	// secure marks the cookies Secure on every request, not only those
	// that came over TLS (SISIMPORT_CONSOLE_SECURE_COOKIE).
	secure bool
}

const (
	sessionCookie = "sisimport_session"
	signinCookie  = "sisimport_signin"
	// csp has no inline script or style, and nothing from another host.
	csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
		"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

// New makes the console. api is the API's handler, which the console calls
// in-process for every change and every read the API answers.
func New(db *pgxpool.Pool, log *slog.Logger, api http.Handler, secureCookies bool) http.Handler {
	c := &Console{db: db, log: log, api: api, pages: map[string]*template.Template{}, secure: secureCookies}
	for _, page := range []string{"signin", "imports", "new", "import", "restore", "people", "person", "error"} {
		c.pages[page] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html"))
	}
	static, _ := fs.Sub(staticFS, "static")

	r := chi.NewRouter()
	r.Use(securityHeaders)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, page{}, errs.New(errs.NotFound, "not_found", "There is no page at %s.", r.URL.Path))
	})
	r.Handle("/static/*", http.StripPrefix("/console/static/", http.FileServer(http.FS(static))))
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/imports", http.StatusSeeOther)
	})
	r.Get("/signin", c.signinForm)
	r.Post("/signin", c.signin)
	r.Group(func(r chi.Router) {
		r.Use(c.session)
		r.Post("/signout", c.signout)
		r.Get("/imports", c.listImports)
		r.Get("/imports/new", c.newImportForm)
		r.Post("/imports/new", c.createImport)
		r.Get("/imports/{id}", c.importPage(c.showImport))
		r.Get("/imports/{id}/progress", c.progress)
		r.Get("/imports/{id}/download/{what}", c.importPage(c.download))
		r.Get("/imports/{id}/restore", c.importPage(c.confirmRestore))
		r.Post("/imports/{id}/{action}", c.importPage(c.act))
		r.Get("/people", c.people)
		r.Get("/people/{id}", c.person)
	})
	return r
}

// securityHeaders go on every answer of the console.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const sessionKey ctxKey = 1

// sessionOf is the signed-in session of a request behind c.session.
func sessionOf(r *http.Request) auth.Session {
	s, _ := r.Context().Value(sessionKey).(auth.Session)
	return s
}

// session lets signed-in browsers through; others go to sign in. Every
// POST must carry the session's CSRF token (the upload form checks its
// own, as the first field of its stream).
func (c *Console) session(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if ck, err := r.Cookie(sessionCookie); err == nil {
			id = ck.Value
		}
		s, err := auth.ResumeSession(r.Context(), c.db, id)
		if errors.Is(err, auth.ErrNoSession) && r.Method == http.MethodGet {
			http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
			return
		}
		if err != nil {
			c.fail(w, r, page{}, err)
			return
		}
		ctx := contextWith(r.Context(), s)
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost && !isUpload(r) && !sameToken(r.PostFormValue("csrf"), s.CSRF) {
			c.fail(w, r, c.page(r, ""), errCrossSite)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errCrossSite answers a POST without the session's CSRF token: a form of
// another site, or a page kept open across sign in.
var errCrossSite = errs.New(errs.Forbidden, "forbidden", "This form did not come from a page of this console (its CSRF token is missing or wrong), so nothing was done. Reload the page and try again.")

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, for /console
// only, and Secure when the request came over TLS or the service is told
// it is served over TLS by a proxy.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/console", HttpOnly: true, Secure: c.secure || r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())})
}
