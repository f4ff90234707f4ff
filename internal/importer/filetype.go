package importer

import "strings"

// The file types of SPEC §4.1.
const (
	typeChangeSISID      = "change_sis_id"
	typeAccounts         = "accounts"
	typeTerms            = "terms"
	typeUserDeactivation = "user_deactivations"
	typeEnrollments      = "enrollments"
	typeGroupMemberships = "group_memberships"
	typeUsers            = "users"
	typeCourses          = "courses"
	typeSections         = "sections"
	typeGroups           = "groups"
)

// canvasOnly are Canvas file types sisimport does not import: skipped whole
// with a warning.
var canvasOnly = []struct {
	name string
	test func(has func(string) bool) bool
}{
	{"logins", func(has func(string) bool) bool {
		return has("existing_user_id") || has("existing_integration_id") || has("existing_canvas_user_id")
	}},
	{"xlists", func(has func(string) bool) bool { return has("xlist_course_id") }},
	{"user_observers", func(has func(string) bool) bool { return has("observer_id") }},
	{"admins", func(has func(string) bool) bool {
		return has("user_id") && has("account_id") && (has("role") || has("role_id")) && !has("course_id") && !has("section_id") && !has("login_id")
	}},
	{"group_categories", func(has func(string) bool) bool { return has("group_category_id") && has("category_name") }},
	{"abstract_courses", func(has func(string) bool) bool { return has("abstract_course_id") && !has("course_id") }},
	{"grade_publishing_results", func(has func(string) bool) bool { return has("grade_publishing_status") }},
}

// detectType names a file's type from its header, by SPEC §4.1's tests in
// order; skipped is true for Canvas types we do not import. An empty name
// means no type matched.
func detectType(cols map[string]int, defaults map[string]string) (name string, skipped bool) {
	has := func(c string) bool { _, ok := cols[c]; return ok }
	switch {
	case has("type") && (has("old_id") || has("old_integration_id")):
		return typeChangeSISID, false
	case has("account_id") && has("parent_account_id"):
		return typeAccounts, false
	case has("term_id") && has("name"):
		return typeTerms, false
	}
	for _, c := range canvasOnly {
		if c.test(has) {
			return c.name, true
		}
	}
	switch {
	case has("email") && has("remove_from_groups"):
		return typeUserDeactivation, false
	case (has("course_id") || has("section_id")) && has("user_id") && has("role"):
		return typeEnrollments, false
	case has("group_id") && has("user_id"):
		return typeGroupMemberships, false
	case has("user_id") && (has("login_id") || defaults["login_id"] != ""):
		return typeUsers, false
	case has("course_id") && has("short_name"):
		return typeCourses, false
	case has("section_id") && has("name"):
		return typeSections, false
	case has("group_id") && has("name"):
		return typeGroups, false
	}
	return "", false
}

// columnIndex maps the header's names, trimmed and lower-cased, to their
// positions; it returns the first repeated name, if any.
func columnIndex(header []string) (map[string]int, string) {
	cols := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		if _, dup := cols[h]; dup {
			return cols, h
		}
		cols[h] = i
	}
	return cols, ""
}
