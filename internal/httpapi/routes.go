package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/queue"
)

// Handler is every route of the service, in one place.
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
		r.Put("/users/{user_id}", s.updateUser)
		r.Get("/groups/{group_id}", s.getGroup)
		r.Get("/groups/{group_id}/users", s.listGroupUsers)
		r.Route("/courses/{course_id}/enrollments", func(r chi.Router) {
			r.Get("/", s.listEnrollments)
			r.Put("/{id}/reactivate", s.reactivateEnrollment)
			r.Delete("/{id}", s.endEnrollment)
		})
		r.Route("/accounts/{account_id}", func(r chi.Router) {
			r.Get("/", s.getAccount)
			r.Get("/users", s.listUsers)
			r.Post("/users", s.createUser)
			r.Get("/reports/provisioning", s.provisioningReport)
			r.Get("/user_properties", s.listProperties)
			r.Post("/user_properties", s.createProperty)
			r.Put("/user_properties/{name}", s.updateProperty)
			r.Get("/groups", s.listGroups)
			r.Post("/groups", s.createGroup)
			r.Get("/sub_accounts", s.listSubAccounts)
			r.Post("/sub_accounts", s.createSubAccount)
			r.Get("/sis_import_errors", s.getAccountErrors)
			r.Route("/sis_imports", func(r chi.Router) {
				r.Post("/", s.createImport)
				r.Get("/", s.listImports)
				r.Get("/importing", s.listImporting)
				r.Put("/abort_all_pending", s.abortAllPending)
				r.Get("/{id}", s.getImport)
				r.Put("/{id}/abort", s.changeImport(auth.SISImport, queue.Abort))
				r.Put("/{id}/approve", s.changeImport(auth.Admin, queue.Approve))
				r.Put("/{id}/restore_states", s.restoreStates)
				r.Get("/{id}/errors", s.getErrors)
				r.Get("/{id}/results", s.getResults)
			})
		})
	})
	return r
}

// MetricsHandler serves the Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})
}
