package importer

import (
	"fmt"
	"maps"
)

// newUserNeeds checks the cells a new user cannot do without, a login id
// and a status: a matched user keeps its own when they are empty, as for
// any other column (an HRIS file with no usernames updates the users it
// matches on another column; docs/import-rules.md#users-files). A view
// that says the status in a format's own words (Moodle's suspended and
// deleted flags) and says nothing creates the user active, as that
// system does.
func (a *userApplier) newUserNeeds(r *userRow) *rowFailure {
	if r.LoginID == "" {
		return &rowFailure{code: "missing_value", message: fmt.Sprintf("column %s: a value is required for a new user", a.view.column("login_id"))}
	}
	if r.Status == "" {
		if _, derived := a.view.derived["status"]; !derived {
			return &rowFailure{code: "missing_value", message: "column status: a value is required for a new user"}
		}
		r.Status = "active"
	}
	return nil
}

// detailsFor narrows the row to what user_update_type (Moodle's "existing
// user details") lets it change of the user it matched:
// file_and_defaults (the default) everything the row and the
// default[<column>] parameters say; file only the file's own cells;
// missing only the fields the user has empty; nochanges nothing. It
// reports whether anything is left to apply.
func (a *userApplier) detailsFor(it *userItem, old *storedUser) bool {
	r := &it.row
	switch a.at.opts.UserUpdateType {
	case "nochanges":
		it.props = nil
		return false
	case "file":
		for _, c := range it.defaulted {
			*userCell(r, c) = ""
		}
		it.emailDefaulted = false
	case "missing":
		stored := map[string]string{"login_id": old.LoginID, "email": old.Email, "first_name": old.FirstName,
			"last_name": old.LastName, "full_name": old.Name, "sortable_name": old.SortableName, "short_name": old.ShortName,
			"pronouns": old.Pronouns, "integration_id": old.IntegrationID}
		for c, v := range stored {
			if v != "" {
				*userCell(r, c) = ""
			}
		}
		if old.DeclaredType != "" {
			r.DeclaredUserType = ""
		}
		if old.AuthProvider != "" {
			r.AuthProvider = ""
		}
		for name := range maps.Clone(it.props) {
			if _, ok := old.Properties[name]; ok {
				delete(it.props, name)
			}
		}
	}
	return true
}

// userCell is the row's cell of a column a default[<column>] may fill.
func userCell(r *userRow, col string) *string {
	switch col {
	case "login_id":
		return &r.LoginID
	case "email":
		return &r.Email
	case "first_name":
		return &r.FirstName
	case "last_name":
		return &r.LastName
	case "full_name":
		return &r.FullName
	case "sortable_name":
		return &r.SortableName
	case "short_name":
		return &r.ShortName
	case "pronouns":
		return &r.Pronouns
	case "status":
		return &r.Status
	case "integration_id":
		return &r.IntegrationID
	}
	panic("importer: no users column " + col)
}
