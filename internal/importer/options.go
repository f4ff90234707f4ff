// Package importer reads stored uploads and applies them to the directory:
// one file per file type's rules, planned and written a batch at a time, with
// one result per row.
package importer

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/sisimport/sisimport/internal/errs"
)

// Options are the create parameters of an import that the importer honours,
// validated at upload and stored with the import.
type Options struct {
	ImportType            string `json:"import_type"`
	Extension             string `json:"extension,omitempty"`
	DryRun                bool   `json:"dry_run"`
	Atomic                bool   `json:"atomic"`
	SkipDeletes           bool   `json:"skip_deletes"`
	BatchMode             bool   `json:"batch_mode"`
	OverrideSISStickiness bool   `json:"override_sis_stickiness"`
	AddSISStickiness      bool   `json:"add_sis_stickiness"`
	ClearSISStickiness    bool   `json:"clear_sis_stickiness"`
	ChangeThreshold       *int   `json:"change_threshold,omitempty"`
	DiffingDataSet        string `json:"diffing_data_set_identifier,omitempty"`
	DiffingRemaster       bool   `json:"diffing_remaster_data_set"`
}

// boolParams are the boolean create parameters and where they go.
func (o *Options) boolParams() map[string]*bool {
	return map[string]*bool{
		"dry_run": &o.DryRun, "atomic": &o.Atomic, "skip_deletes": &o.SkipDeletes, "batch_mode": &o.BatchMode,
		"override_sis_stickiness": &o.OverrideSISStickiness, "add_sis_stickiness": &o.AddSISStickiness,
		"clear_sis_stickiness": &o.ClearSISStickiness, "diffing_remaster_data_set": &o.DiffingRemaster,
	}
}

// notYetHonoured are Canvas and sisimport parameters this version accepts
// and validates but does not act on yet; each gives a warning on the import.
var notYetHonoured = map[string]bool{
	"batch_mode_term_id": true, "multi_term_batch_mode": true, "diffing_drop_status": true,
	"diffing_user_remove_status": true, "batch_mode_enrollment_drop_status": true,
	"remove_unlisted_users": true, "unlisted_user_status": true, "change_threshold_action": true,
	"user_upload_type": true, "user_match_on": true, "user_match_fallback_login_id": true,
	"standardize_login_ids": true, "duplicate_login_id_handling": true, "prevent_email_duplicates": true,
	"update_sis_id_if_login_claimed": true, "diff_row_count_threshold": true,
}

// ignoredQuietly are request parameters that are not import options.
var ignoredQuietly = map[string]bool{"access_token": true, "attachment": true}

// ParseOptions validates the create parameters. A known parameter with an
// invalid value is an error naming it; unknown parameters come back as
// warnings, as Canvas ignores them.
func ParseOptions(v url.Values) (Options, [][2]string, error) {
	o := Options{ImportType: "instructure_csv"}
	var warnings [][2]string
	bools := o.boolParams()
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := strings.TrimSpace(v.Get(k))
		if p, ok := bools[k]; ok {
			b, err := parseBool(val)
			if err != nil {
				return o, nil, invalidParam(k, val, "true or false")
			}
			*p = b
			continue
		}
		switch {
		case k == "import_type":
			if val != "instructure_csv" {
				return o, nil, invalidParam(k, val, "instructure_csv")
			}
		case k == "extension":
			val = strings.ToLower(strings.TrimPrefix(val, "."))
			if val != "csv" && val != "zip" {
				return o, nil, invalidParam(k, val, "csv or zip")
			}
			o.Extension = val
		case k == "change_threshold":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 100 {
				return o, nil, invalidParam(k, val, "an integer from 1 to 100")
			}
			o.ChangeThreshold = &n
		case k == "diffing_data_set_identifier":
			o.DiffingDataSet = val
		case ignoredQuietly[k]:
		case notYetHonoured[k] || strings.HasPrefix(k, "default["):
			warnings = append(warnings, [2]string{"", fmt.Sprintf("parameter %s is not supported by this version yet and was ignored", k)})
		default:
			warnings = append(warnings, [2]string{"", fmt.Sprintf("unknown parameter %s was ignored", k)})
		}
	}
	if o.DiffingDataSet != "" {
		warnings = append(warnings, [2]string{"", "diffing is not supported by this version yet: the whole file is applied"})
	}
	if o.BatchMode && o.DiffingDataSet != "" {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "batch_mode cannot be combined with diffing_data_set_identifier")
	}
	return o, warnings, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

func invalidParam(name, val, want string) error {
	return errs.New(errs.Invalid, "invalid_value", "parameter %s: %q is not valid (want %s)", name, val, want)
}
