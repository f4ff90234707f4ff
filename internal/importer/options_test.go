package importer

import (
	"net/url"
	"strings"
	"testing"
)

// TestParseOptions: every parameter acts by its value, never by its
// presence; an empty value is no value; a bad value names the parameter.
func TestParseOptions(t *testing.T) {
	cases := []struct {
		name, query string
		check       func(Options) bool
		warning     string // a warning that must be given
		err         string // the error, when the parameters are refused
	}{
		{"no parameters: Canvas's defaults", "", func(o Options) bool {
			return !o.BatchMode && !o.DryRun && o.ChangeThreshold == nil && o.UserMatchOn == "user_id" && o.ImportType == "instructure_csv"
		}, "", ""},
		{"a term id alone is not batch mode", "batch_mode_term_id=sis_term_id:T1",
			func(o Options) bool { return !o.BatchMode && o.BatchModeTermID == "" }, "batch_mode_term_id was ignored", ""},
		{"batch_mode=false with a term id is not batch mode", "batch_mode=false&batch_mode_term_id=7",
			func(o Options) bool { return !o.BatchMode && o.BatchModeTermID == "" }, "batch_mode_term_id was ignored", ""},
		{"batch_mode=true with a term id is", "batch_mode=true&batch_mode_term_id=7",
			func(o Options) bool { return o.BatchMode && o.BatchModeTermID == "7" }, "", ""},
		{"batch_mode=1 is true, as Canvas reads it", "batch_mode=1&batch_mode_term_id=7",
			func(o Options) bool { return o.BatchMode }, "", ""},
		{"multi_term_batch_mode=true is batch mode", "multi_term_batch_mode=true&change_threshold=10",
			func(o Options) bool { return o.BatchMode && o.MultiTermBatchMode }, "", ""},
		{"multi_term_batch_mode needs change_threshold, as on Canvas", "multi_term_batch_mode=true", nil, "",
			"multi_term_batch_mode needs change_threshold"},
		{"multi_term_batch_mode=false is not", "multi_term_batch_mode=false",
			func(o Options) bool { return !o.BatchMode && !o.MultiTermBatchMode }, "", ""},
		{"batch mode without a term", "batch_mode=true", nil, "", "batch_mode needs batch_mode_term_id"},
		{"batch mode wins over diffing, as on Canvas", "batch_mode=true&batch_mode_term_id=7&diffing_data_set_identifier=x&diffing_remaster_data_set=1",
			func(o Options) bool { return o.BatchMode && o.DiffingDataSet == "" && !o.DiffingRemaster }, "diffing_data_set_identifier was ignored", ""},
		{"diffing by its identifier; an empty one is none", "diffing_data_set_identifier=&diffing_remaster_data_set=true",
			func(o Options) bool { return o.DiffingDataSet == "" && o.DiffingRemaster }, "", ""},
		{"false flags are false", "dry_run=false&atomic=0&skip_deletes=no&remove_unlisted_users=off&override_sis_stickiness=false",
			func(o Options) bool {
				return !o.DryRun && !o.Atomic && !o.SkipDeletes && !o.RemoveUnlistedUsers && !o.OverrideSISStickiness
			}, "", ""},
		{"empty values are no values", "change_threshold=&user_upload_type=&user_match_on=&extension=&import_type=&default[login_id]=&dry_run=",
			func(o Options) bool {
				return o.ChangeThreshold == nil && o.UserUploadType == "create_or_update" && o.UserMatchOn == "user_id" &&
					o.Extension == "" && o.Defaults == nil && !o.DryRun
			}, "", ""},
		{"change_threshold", "change_threshold=15", func(o Options) bool { return *o.ChangeThreshold == 15 }, "", ""},
		{"change_threshold out of range", "change_threshold=0", nil, "", "parameter change_threshold: \"0\" is not valid (want an integer from 1 to 100)"},
		{"a choice outside its values", "unlisted_user_status=gone", nil, "", "parameter unlisted_user_status: \"gone\" is not valid (want suspended, deleted)"},
		{"a bad boolean", "dry_run=maybe", nil, "", "parameter dry_run: \"maybe\" is not valid (want true or false)"},
		{"match on a property", "user_match_on=Property.Dept", func(o Options) bool { return o.UserMatchOn == "property.dept" }, "", ""},
		{"defaults by column", "default[Login_ID]=%25-1f%25-l", func(o Options) bool { return o.Defaults["login_id"] == "%-1f%-l" }, "", ""},
		{"a default for a column without one", "default[user_id]=x", nil, "", "parameter default[user_id]"},
		{"clear_sis_stickiness wins over add, as on Canvas", "override_sis_stickiness=true&add_sis_stickiness=true&clear_sis_stickiness=true",
			func(o Options) bool { return o.ClearSISStickiness && !o.AddSISStickiness }, "add_sis_stickiness was ignored", ""},
		{"an unknown parameter is a warning", "colour=blue", func(Options) bool { return true }, "unknown parameter colour was ignored", ""},
		{"diff_row_count_threshold is a positive count, as Canvas reads it", "diff_row_count_threshold=5",
			func(o Options) bool { return o.DiffRowCountThreshold == 5 }, "", ""},
		{"diff_row_count_threshold of 0 or text is none", "diff_row_count_threshold=abc", func(o Options) bool { return o.DiffRowCountThreshold == 0 }, "", ""},
		{"diffing_drop_status takes deleted_last_completed, as Canvas's diff generator", "diffing_drop_status=deleted_last_completed",
			func(o Options) bool { return o.DiffingDropStatus == "deleted_last_completed" }, "", ""},
		{"the token and the file are not options", "access_token=x&attachment=y", func(Options) bool { return true }, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			o, warnings, err := ParseOptions(q)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(o) {
				t.Errorf("options %+v", o)
			}
			found := c.warning == ""
			for _, w := range warnings {
				found = found || strings.Contains(w[1], c.warning)
			}
			if !found || (c.warning == "" && len(warnings) > 0) {
				t.Errorf("warnings %v, want %q", warnings, c.warning)
			}
		})
	}
}
