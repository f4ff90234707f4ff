package importer

// Canvas's file types this version does not import (docs/import-rules.md#files):
// their files are skipped whole with a warning. Each is recognised by its
// key columns, after accounts and terms and before the types we import.
func init() {
	for i, t := range []struct {
		name   string
		detect func(h header) bool
	}{
		{"xlists", func(h header) bool { return h.has("xlist_course_id") }},
		{"user_observers", func(h header) bool { return h.has("observer_id") }},
		{"admins", func(h header) bool {
			return h.has("user_id") && h.has("account_id") && (h.has("role") || h.has("role_id")) && !h.has("course_id") && !h.has("section_id") && !h.has("login_id")
		}},
		{"group_categories", func(h header) bool { return h.has("group_category_id") && h.has("category_name") }},
		{"abstract_courses", func(h header) bool { return h.has("abstract_course_id") && !h.has("course_id") }},
		{"grade_publishing_results", func(h header) bool { return h.has("grade_publishing_status") }},
	} {
		register(&fileType{name: t.name, detect: t.detect, detectRank: 40 + i, skipped: true})
	}
}
