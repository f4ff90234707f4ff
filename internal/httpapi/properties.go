package httpapi

import (
	"encoding/json"
	"mime"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/errs"
)

// propertyBody is a property definition as a client sends it: JSON, or a
// form with name, type and options[].
type propertyBody struct {
	directory.Property
	RenameOptions map[string]string `json:"rename_options"`
}

func readProperty(w http.ResponseWriter, r *http.Request) (propertyBody, error) {
	var b propertyBody
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			return b, errs.New(errs.Invalid, "malformed_request", "the JSON body could not be read: %v", err)
		}
		return b, nil
	}
	if err := r.ParseForm(); err != nil {
		return b, errs.New(errs.Invalid, "malformed_request", "the form body could not be read: %v", err)
	}
	b.Name, b.Type, b.Options = r.Form.Get("name"), r.Form.Get("type"), r.Form["options[]"]
	return b, nil
}

// propertyAdmin checks that the caller, an admin token (routes.go), is of
// the root account the path names: only they define properties
// (docs/import-rules.md#user-properties).
func (s *Server) propertyAdmin(r *http.Request) (directory.Account, error) {
	acct, err := s.account(r)
	if err != nil {
		return acct, err
	}
	t := tokenOf(r)
	if t.AccountID != t.RootAccountID || acct.ID != acct.RootAccountID {
		return acct, errs.New(errs.Forbidden, "forbidden", "only an admin token of the root account defines user properties, on the root account")
	}
	return acct, nil
}

func (s *Server) listProperties(w http.ResponseWriter, r *http.Request) {
	acct, err := s.account(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := directory.ListProperties(r.Context(), s.db, acct.RootAccountID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []directory.Property{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) createProperty(w http.ResponseWriter, r *http.Request) {
	acct, err := s.propertyAdmin(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := readProperty(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := directory.CreateProperty(r.Context(), s.db, acct.ID, b.Property)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) updateProperty(w http.ResponseWriter, r *http.Request) {
	acct, err := s.propertyAdmin(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b, err := readProperty(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := directory.UpdateProperty(r.Context(), s.db, acct.ID, chi.URLParam(r, "name"), b.Property, b.RenameOptions)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
