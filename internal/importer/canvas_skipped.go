package importer

// Canvas's file types this version does not import (docs/import-rules.md#files):
// their files are skipped whole with a warning. Each is recognised by its
// key columns, after accounts and terms and before the types we import.
func init() {
	for i, t := range []struct {
		name   string
		detect func(h header) bool
	}{
		{"abstract_courses", func(h header) bool { return h.has("abstract_course_id") && !h.has("course_id") }},
		{"grade_publishing_results", func(h header) bool { return h.has("grade_publishing_status") }},
		{"differentiation_tag_sets", func(h header) bool { return h.has("tag_set_id") && h.has("set_name") }},
		{"differentiation_tags", func(h header) bool { return h.has("tag_id") && h.has("name") }},
		{"differentiation_tag_memberships", func(h header) bool { return h.has("tag_id") && h.has("user_id") }},
		{"institutional_tags", func(h header) bool { return h.has("institutional_tag_id") && h.has("category_id") && h.has("name") }},
		{"institutional_tag_associations", func(h header) bool { return h.has("institutional_tag_id") && h.has("user_id") }},
		{"institutional_tag_categories", func(h header) bool {
			return h.has("category_id") && h.has("name") && !h.has("tag_id") && !h.has("institutional_tag_id")
		}},
	} {
		register(&fileType{name: t.name, detect: t.detect, detectRank: 40 + i, skipped: true})
	}
}
