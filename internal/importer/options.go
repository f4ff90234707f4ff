// Package importer reads stored uploads and applies them to the directory:
// one file per file type's rules, planned and written a batch at a time, with
// one result per row.
package importer

import (
	"fmt"
	"net/url"
	"slices"
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

	// The user options of SPEC §4.4 (Moodle's "Upload users").
	UserUploadType       string            `json:"user_upload_type"`
	UserMatchOn          string            `json:"user_match_on"`
	MatchFallbackLoginID bool              `json:"user_match_fallback_login_id"`
	StandardizeLoginIDs  bool              `json:"standardize_login_ids"`
	DuplicateLoginIDs    string            `json:"duplicate_login_id_handling"`
	PreventEmailDups     bool              `json:"prevent_email_duplicates"`
	Defaults             map[string]string `json:"defaults,omitempty"`

	// Removal of users the file no longer lists (SPEC §4.5, §4.6).
	RemoveUnlistedUsers   bool   `json:"remove_unlisted_users"`
	UnlistedUserStatus    string `json:"unlisted_user_status"`
	ChangeThresholdAction string `json:"change_threshold_action"`
	// ApprovedRemovals is set by approve: per type, the removals the held
	// plan showed, which the re-run may apply without breaching again.
	ApprovedRemovals map[string]int `json:"approved_removals,omitempty"`
	// DiffingUserRemoveStatus is what users of the diffing base that the
	// file no longer lists become.
	DiffingUserRemoveStatus string `json:"diffing_user_remove_status"`

	// Canvas's batch mode (SPEC §4.5): the term whose SIS-managed courses,
	// sections and enrollments the import did not list are removed (an id or
	// sis_term_id:X), or the terms of the terms files.
	BatchModeTermID    string `json:"batch_mode_term_id,omitempty"`
	MultiTermBatchMode bool   `json:"multi_term_batch_mode"`
	// BatchModeEnrollmentDropStatus and DiffingDropStatus are what dropped
	// enrollments become, by batch mode and by diffing.
	BatchModeEnrollmentDropStatus string `json:"batch_mode_enrollment_drop_status"`
	DiffingDropStatus             string `json:"diffing_drop_status"`
}

// boolParams are the boolean create parameters and where they go.
func (o *Options) boolParams() map[string]*bool {
	return map[string]*bool{
		"dry_run": &o.DryRun, "atomic": &o.Atomic, "skip_deletes": &o.SkipDeletes, "batch_mode": &o.BatchMode,
		"override_sis_stickiness": &o.OverrideSISStickiness, "add_sis_stickiness": &o.AddSISStickiness,
		"clear_sis_stickiness": &o.ClearSISStickiness, "diffing_remaster_data_set": &o.DiffingRemaster,
		"user_match_fallback_login_id": &o.MatchFallbackLoginID, "standardize_login_ids": &o.StandardizeLoginIDs,
		"prevent_email_duplicates": &o.PreventEmailDups, "remove_unlisted_users": &o.RemoveUnlistedUsers,
		"multi_term_batch_mode": &o.MultiTermBatchMode,
	}
}

// notYetHonoured are Canvas and sisimport parameters this version accepts
// and validates but does not act on yet; each gives a warning on the import.
var notYetHonoured = map[string]bool{
	"update_sis_id_if_login_claimed": true, "diff_row_count_threshold": true,
}

// templateColumns are the users columns a default[<column>] may fill.
var templateColumns = []string{"login_id", "email", "first_name", "last_name", "full_name", "sortable_name",
	"short_name", "pronouns", "status", "integration_id"}

// ignoredQuietly are request parameters that are not import options.
var ignoredQuietly = map[string]bool{"access_token": true, "attachment": true}

// ParseOptions validates the create parameters. A known parameter with an
// invalid value is an error naming it; unknown parameters come back as
// warnings, as Canvas ignores them.
func ParseOptions(v url.Values) (Options, [][2]string, error) {
	o := Options{ImportType: "instructure_csv", UserUploadType: "create_or_update", UserMatchOn: "user_id",
		DuplicateLoginIDs: "fail", UnlistedUserStatus: "suspended", ChangeThresholdAction: "abort",
		DiffingUserRemoveStatus: "deleted", BatchModeEnrollmentDropStatus: "deleted", DiffingDropStatus: "deleted"}
	choices := map[string]struct {
		dst     *string
		allowed []string
	}{
		"user_upload_type":                  {&o.UserUploadType, []string{"create_or_update", "create_only", "update_only", "create_all_rename"}},
		"duplicate_login_id_handling":       {&o.DuplicateLoginIDs, []string{"fail", "append_counter"}},
		"unlisted_user_status":              {&o.UnlistedUserStatus, []string{"suspended", "deleted"}},
		"change_threshold_action":           {&o.ChangeThresholdAction, []string{"abort", "hold"}},
		"diffing_user_remove_status":        {&o.DiffingUserRemoveStatus, []string{"deleted", "suspended"}},
		"diffing_drop_status":               {&o.DiffingDropStatus, []string{"deleted", "completed", "inactive"}},
		"batch_mode_enrollment_drop_status": {&o.BatchModeEnrollmentDropStatus, []string{"deleted", "completed", "inactive"}},
	}
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
		if c, ok := choices[k]; ok {
			if !slices.Contains(c.allowed, val) {
				return o, nil, invalidParam(k, val, strings.Join(c.allowed, ", "))
			}
			*c.dst = val
			continue
		}
		switch {
		case k == "user_match_on":
			val = strings.ToLower(val)
			if !slices.Contains([]string{"user_id", "login_id", "email", "integration_id"}, val) &&
				!(strings.HasPrefix(val, "property.") && len(val) > len("property.")) {
				return o, nil, invalidParam(k, val, "user_id, login_id, email, integration_id or property.<name>")
			}
			o.UserMatchOn = val
		case strings.HasPrefix(k, "default[") && strings.HasSuffix(k, "]"):
			col := strings.ToLower(strings.TrimSpace(k[len("default[") : len(k)-1]))
			if !slices.Contains(templateColumns, col) {
				return o, nil, invalidParam(k, val, "a default for one of "+strings.Join(templateColumns, ", "))
			}
			if err := checkTemplate(val); err != nil {
				return o, nil, errs.New(errs.Invalid, "invalid_value", "parameter %s: %v", k, err)
			}
			if o.Defaults == nil {
				o.Defaults = map[string]string{}
			}
			o.Defaults[col] = val
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
		case k == "batch_mode_term_id":
			o.BatchModeTermID = val
		case ignoredQuietly[k]:
		case notYetHonoured[k]:
			warnings = append(warnings, [2]string{"", fmt.Sprintf("parameter %s is not supported by this version yet and was ignored", k)})
		default:
			warnings = append(warnings, [2]string{"", fmt.Sprintf("unknown parameter %s was ignored", k)})
		}
	}
	if o.AddSISStickiness && o.ClearSISStickiness {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "add_sis_stickiness and clear_sis_stickiness cannot both be true")
	}
	if o.MultiTermBatchMode {
		o.BatchMode = true
	}
	if o.BatchMode && o.BatchModeTermID == "" && !o.MultiTermBatchMode {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "batch_mode needs batch_mode_term_id (an id or sis_term_id:X) or multi_term_batch_mode=true")
	}
	if o.BatchModeTermID != "" && o.MultiTermBatchMode {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "batch_mode_term_id and multi_term_batch_mode cannot both be given")
	}
	if o.BatchModeTermID != "" {
		o.BatchMode = true
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
