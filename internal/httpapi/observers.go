package httpapi

import (
	"context"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// listObservees answers the users {user_id} observes as a bare JSON array
// of users, as Canvas does.
func (s *Server) listObservees(w http.ResponseWriter, r *http.Request) {
	s.listLinked(w, r, directory.ListObservees)
}

// listObservers answers the users who observe {user_id}.
func (s *Server) listObservers(w http.ResponseWriter, r *http.Request) {
	s.listLinked(w, r, directory.ListObservers)
}

// listLinked answers a page of list for the path's user. A deleted user is
// a 404 here, as on Canvas, which finds the user among active ones.
func (s *Server) listLinked(w http.ResponseWriter, r *http.Request,
	list func(ctx context.Context, db *pgxpool.Pool, user int64, limit, offset int) ([]directory.User, error)) {
	u, err := s.user(r)
	if err == nil && u.WorkflowState == "deleted" {
		err = errs.ErrNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeList(s, w, r, u.ID, list)
}
