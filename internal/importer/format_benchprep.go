package importer

// BenchPrep's bulk-deactivation template, read as it is downloaded
// (docs/formats.md#benchprep): its columns are the user_deactivations
// file's under BenchPrep's names, and its rules are that type's.
func init() {
	registerFormat(&format{name: "benchprep_csv",
		detect: func(h header) bool {
			return h.has("email") && h.has("username") && h.has("sis_id") && h.has("institution") && h.has("remove_from_group")
		},
		views: func(_ string, h header) []view {
			if !h.has("email") || !h.has("remove_from_group") {
				return nil
			}
			return []view{{typ: byName[typeUserDeactivation], columns: map[string]string{
				"login_id": "username", "user_id": "sis_id", "canvas_user_id": "user_id",
				"account_id": "institution", "remove_from_groups": "remove_from_group"}}}
		},
	})
}
