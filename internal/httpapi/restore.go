package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/errs"
	"github.com/sisimport/sisimport/internal/queue"
)

// progressJSON is Canvas's Progress object, for a restore job.
type progressJSON struct {
	ID            int64     `json:"id"`
	ContextID     int64     `json:"context_id"`
	ContextType   string    `json:"context_type"`
	UserID        *int64    `json:"user_id"`
	Tag           string    `json:"tag"`
	Completion    int       `json:"completion"`
	WorkflowState string    `json:"workflow_state"`
	Message       *string   `json:"message"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	URL           string    `json:"url"`
	// RestoreOf is the import being restored (ours).
	RestoreOf *int64 `json:"sis_import_id"`
}

func progressView(j queue.Import) progressJSON {
	p := progressJSON{ID: j.ID, ContextID: j.AccountID, ContextType: "Account", UserID: j.TokenID,
		Tag: "sis_batch_state_restore", Completion: j.Progress, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		URL: "/api/v1/progress/" + strconv.FormatInt(j.ID, 10), RestoreOf: j.RestoreOf}
	switch j.WorkflowState {
	case "created":
		p.WorkflowState = "queued"
	case "importing":
		p.WorkflowState = "running"
	case "failed":
		p.WorkflowState, p.Completion = "failed", 100
	default:
		p.WorkflowState, p.Completion = "completed", 100
		msg := j.WorkflowState
		p.Message = &msg
	}
	return p
}

// restoreStates queues the undo of an import (role admin) and answers with
// the Progress of the restore job.
func (s *Server) restoreStates(w http.ResponseWriter, r *http.Request) {
	i, err := s.importOf(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t := tokenOf(r)
	job, err := queue.QueueRestore(r.Context(), s.db, i, t.ID, t.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, progressView(job))
}

// getProgress answers a restore job's Progress.
func (s *Server) getProgress(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		s.writeError(w, r, errs.ErrNotFound)
		return
	}
	j, err := queue.GetJob(r.Context(), s.db, id, tokenOf(r).AccountID)
	if err == nil && j.Kind != "restore" {
		err = errs.ErrNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, progressView(j))
}
