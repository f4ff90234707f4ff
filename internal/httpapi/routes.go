package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/queue"
)

// Handler is every route of the service, in one place, with the role each
// write needs (docs/api.md#authentication-and-roles); every other route
// under /api/v1 needs a token of any role, read_only included.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.instrument, normalizePath)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { s.writeError(w, r, errs.ErrNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errs.New(errs.NotFound, "not_found", "no route for %s %s", r.Method, r.URL.Path))
	})

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	if !s.MetricsElsewhere {
		r.Handle("/metrics", s.MetricsHandler())
	}

	if !s.withAPI {
		return r
	}
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.requireToken, s.rateLimit)
		r.Get("/progress/{id}", s.getProgress)
		r.Get("/users/{user_id}", s.getUser)
		r.With(s.needs(auth.Admin, reach(s.user))).Put("/users/{user_id}", s.updateUser)
		r.Get("/users/{user_id}/observees", s.listObservees)
		r.Get("/users/{user_id}/observers", s.listObservers)
		r.Get("/users/{user_id}/logins", s.listLogins)
		r.Get("/groups/{group_id}", s.getGroup)
		r.With(s.needs(auth.Admin, reach(s.group))).Put("/groups/{group_id}", s.updateGroup)
		r.Get("/groups/{group_id}/users", s.listGroupUsers)
		r.Get("/group_categories/{group_category_id}", s.getGroupCategory)
		r.Get("/sections/{section_id}", s.getSection)
		r.With(s.needs(auth.Admin, reach(s.section))).Put("/sections/{section_id}", s.updateSection)
		r.Get("/courses/{course_id}/sections", s.listSections)
		r.Get("/courses/{course_id}", s.getCourse)
		r.With(s.needs(auth.Admin, reach(s.fullCourse))).Put("/courses/{course_id}", s.updateCourse)
		r.Route("/courses/{course_id}/enrollments", func(r chi.Router) {
			r.Get("/", s.listEnrollments)
			r.With(s.needs(auth.Admin, reach(s.course))).Put("/{id}/reactivate", s.reactivateEnrollment)
			r.With(s.needs(auth.Admin, reach(s.course))).Delete("/{id}", s.endEnrollment)
		})
		r.Route("/accounts/{account_id}", func(r chi.Router) {
			r.Get("/", s.getAccount)
			r.With(s.needs(auth.Admin, reach(s.account))).Put("/", s.updateAccount)
			r.Get("/users", s.listUsers)
			r.With(s.needs(auth.Admin, reach(s.account))).Post("/users", s.createUser)
			r.Get("/reports/provisioning", s.provisioningReport)
			r.Get("/user_properties", s.listProperties)
			r.With(s.needs(auth.Admin, reach(s.account))).Post("/user_properties", s.createProperty)
			r.With(s.needs(auth.Admin, reach(s.account))).Put("/user_properties/{name}", s.updateProperty)
			r.Get("/groups", s.listGroups)
			r.With(s.needs(auth.Admin, reach(s.account))).Post("/groups", s.createGroup)
			r.Get("/roles", s.listRoles)
			r.Get("/terms", s.listTerms)
			r.With(s.needs(auth.Admin, reach(s.term))).Put("/terms/{id}", s.updateTerm)
			r.With(s.needs(auth.Admin, reach(s.account))).Post("/roles", s.createRole)
			r.Get("/group_categories", s.listGroupCategories)
			r.Get("/admins", s.listAdmins)
			r.Get("/sub_accounts", s.listSubAccounts)
			r.With(s.needs(auth.Admin, reach(s.account))).Post("/sub_accounts", s.createSubAccount)
			r.Get("/sis_import_errors", s.getAccountErrors)
			r.Route("/sis_imports", func(r chi.Router) {
				r.With(s.needs(auth.SISImport, reach(s.account))).Post("/", s.createImport)
				r.Get("/", s.listImports)
				r.Get("/importing", s.listImporting)
				r.With(s.needs(auth.Admin, reach(s.account))).Put("/abort_all_pending", s.abortAllPending)
				r.Get("/{id}", s.getImport)
				r.With(s.needs(auth.SISImport, reach(s.importOf))).Put("/{id}/abort", s.changeImport(queue.Abort))
				r.With(s.needs(auth.Admin, reach(s.importOf))).Put("/{id}/approve", s.changeImport(queue.Approve))
				r.With(s.needs(auth.Admin, reach(s.importOf))).Put("/{id}/restore_states", s.restoreStates)
				r.Get("/{id}/file", s.getImportFile)
				r.Get("/{id}/errors", s.getErrors)
				r.Get("/{id}/results", s.getResults)
			})
		})
	})
	if s.console != nil {
		r.Mount("/console", s.console) // docs/console.md
	}
	return r
}

// needs is the role a route needs. What the path names is resolved first,
// by find: something outside the token's reach is a 404 whatever the role,
// as for reads, so that nothing leaks; then a token whose role is below
// gets a 403.
func (s *Server) needs(role auth.Role, find func(*http.Request) error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := find(r); err != nil {
				s.writeError(w, r, err)
				return
			}
			if !tokenOf(r).Role.Allows(role) {
				s.writeError(w, r, errForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// reach makes a lookup of what a path names into the check needs runs.
func reach[T any](lookup func(*http.Request) (T, error)) func(*http.Request) error {
	return func(r *http.Request) error {
		_, err := lookup(r)
		return err
	}
}

// MetricsHandler serves the Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})
}
