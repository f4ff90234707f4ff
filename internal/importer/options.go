package importer

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
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
	// DiffRowCountThreshold: a diff of more rows than this (changed rows
	// and drops) is not used: the file applies in full and drops nothing
	// (docs/import-rules.md#diffing).
	DiffRowCountThreshold int `json:"diff_row_count_threshold,omitempty"`
	// UpdateSISIDIfLoginClaimed: a users row whose login another user holds
	// gives that user its user_id (docs/import-rules.md#users-files).
	UpdateSISIDIfLoginClaimed bool `json:"update_sis_id_if_login_claimed"`

	// The user options of docs/import-rules.md#user-options (Moodle's "Upload users").
	UserUploadType       string            `json:"user_upload_type"`
	UserMatchOn          string            `json:"user_match_on"`
	MatchFallbackLoginID bool              `json:"user_match_fallback_login_id"`
	StandardizeLoginIDs  bool              `json:"standardize_login_ids"`
	DuplicateLoginIDs    string            `json:"duplicate_login_id_handling"`
	PreventEmailDups     bool              `json:"prevent_email_duplicates"`
	Defaults             map[string]string `json:"defaults,omitempty"`
	// UserUpdateType is Moodle's "existing user details": what a row
	// changes of a user it matches (docs/import-rules.md#user-options).
	UserUpdateType string `json:"user_update_type"`
	// MatchOnGiven: user_match_on was a parameter, so a format whose own
	// key is another column (Moodle's username) leaves it alone.
	MatchOnGiven bool `json:"user_match_on_given,omitempty"`
	// Moodle's allow renames, allow suspends and allow deletes: a format
	// that says these in its own columns applies them only when allowed,
	// and acknowledges them with a warning otherwise (docs/formats-moodle.md).
	AllowRenames  bool `json:"allow_renames"`
	AllowSuspends bool `json:"allow_suspends"`
	AllowDeletes  bool `json:"allow_deletes"`

	// Removal of users the file no longer lists (docs/import-rules.md#removing-what-the-feed-no-longer-lists, docs/import-rules.md#safety-thresholds).
	RemoveUnlistedUsers   bool   `json:"remove_unlisted_users"`
	UnlistedUserStatus    string `json:"unlisted_user_status"`
	ChangeThresholdAction string `json:"change_threshold_action"`
	// ApprovedRemovals is set by approve: per type, the removals the held
	// plan showed, which the re-run may apply without breaching again.
	ApprovedRemovals map[string]int `json:"approved_removals,omitempty"`
	// DiffingUserRemoveStatus is what users of the diffing base that the
	// file no longer lists become.
	DiffingUserRemoveStatus string `json:"diffing_user_remove_status"`

	// Canvas's batch mode (docs/import-rules.md#removing-what-the-feed-no-longer-lists): the term whose SIS-managed courses,
	// sections and enrollments the import did not list are removed (an id or
	// sis_term_id:X), or the terms of the terms files.
	BatchModeTermID    string `json:"batch_mode_term_id,omitempty"`
	MultiTermBatchMode bool   `json:"multi_term_batch_mode"`
	// BatchModeEnrollmentDropStatus and DiffingDropStatus are what dropped
	// enrollments become, by batch mode and by diffing.
	BatchModeEnrollmentDropStatus string `json:"batch_mode_enrollment_drop_status"`
	DiffingDropStatus             string `json:"diffing_drop_status"`
}

// ImportTypes are the values import_type takes: the registered formats
// (registry.go). The console offers them from here.
func ImportTypes() []string { return formatNames() }

// templateColumns are the users columns a default[<column>] may fill.
var templateColumns = []string{"login_id", "email", "first_name", "last_name", "full_name", "sortable_name",
	"short_name", "pronouns", "status", "integration_id"}

// ignoredQuietly are request parameters that are not import options.
var ignoredQuietly = map[string]bool{"access_token": true, "attachment": true}

// params are the create parameters by name, each with what reads its
// value into o. An empty value is no value (Canvas reads them with
// present?), so none of them acts by its presence alone.
func (o *Options) params() map[string]func(string) error {
	flag := func(dst *bool) func(string) error {
		return func(val string) (err error) {
			*dst, err = parseBool(val)
			return err
		}
	}
	choice := func(dst *string, allowed ...string) func(string) error {
		return func(val string) error {
			if !slices.Contains(allowed, val) {
				return fmt.Errorf("want %s", strings.Join(allowed, ", "))
			}
			*dst = val
			return nil
		}
	}
	text := func(dst *string) func(string) error {
		return func(val string) error { *dst = val; return nil }
	}
	return map[string]func(string) error{
		"dry_run": flag(&o.DryRun), "atomic": flag(&o.Atomic), "skip_deletes": flag(&o.SkipDeletes),
		"batch_mode": flag(&o.BatchMode), "multi_term_batch_mode": flag(&o.MultiTermBatchMode),
		"override_sis_stickiness": flag(&o.OverrideSISStickiness), "add_sis_stickiness": flag(&o.AddSISStickiness),
		"clear_sis_stickiness": flag(&o.ClearSISStickiness), "diffing_remaster_data_set": flag(&o.DiffingRemaster),
		"user_match_fallback_login_id": flag(&o.MatchFallbackLoginID), "standardize_login_ids": flag(&o.StandardizeLoginIDs),
		"prevent_email_duplicates": flag(&o.PreventEmailDups), "remove_unlisted_users": flag(&o.RemoveUnlistedUsers),
		"update_sis_id_if_login_claimed": flag(&o.UpdateSISIDIfLoginClaimed),
		"allow_renames":                  flag(&o.AllowRenames), "allow_suspends": flag(&o.AllowSuspends), "allow_deletes": flag(&o.AllowDeletes),

		"user_upload_type":                  choice(&o.UserUploadType, "create_or_update", "create_only", "update_only", "create_all_rename"),
		"duplicate_login_id_handling":       choice(&o.DuplicateLoginIDs, "fail", "append_counter"),
		"user_update_type":                  choice(&o.UserUpdateType, "file_and_defaults", "file", "missing", "nochanges"),
		"unlisted_user_status":              choice(&o.UnlistedUserStatus, "suspended", "deleted"),
		"change_threshold_action":           choice(&o.ChangeThresholdAction, "skip_removals", "abort", "hold"),
		"diffing_user_remove_status":        choice(&o.DiffingUserRemoveStatus, "deleted", "suspended"),
		"diffing_drop_status":               choice(&o.DiffingDropStatus, "deleted", "completed", "inactive", "deleted_last_completed"),
		"batch_mode_enrollment_drop_status": choice(&o.BatchModeEnrollmentDropStatus, "deleted", "completed", "inactive"),
		"import_type":                       choice(&o.ImportType, formatNames()...),

		"diffing_data_set_identifier": text(&o.DiffingDataSet),
		"batch_mode_term_id":          text(&o.BatchModeTermID),
		"user_match_on": func(val string) error {
			val = strings.ToLower(val)
			property, isProperty := strings.CutPrefix(val, "property.")
			if !slices.Contains([]string{"user_id", "login_id", "email", "integration_id"}, val) && (!isProperty || property == "") {
				return fmt.Errorf("want user_id, login_id, email, integration_id or property.<name>")
			}
			o.UserMatchOn, o.MatchOnGiven = val, true
			return nil
		},
		"extension": func(val string) error {
			val = strings.ToLower(strings.TrimPrefix(val, "."))
			if val != "csv" && val != "zip" {
				return fmt.Errorf("want csv or zip")
			}
			o.Extension = val
			return nil
		},
		"diff_row_count_threshold": func(val string) error {
			// As Canvas: a positive count is a threshold, anything else none.
			if n, err := strconv.Atoi(val); err == nil && n > 0 {
				o.DiffRowCountThreshold = n
			}
			return nil
		},
		"change_threshold": func(val string) error {
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 100 {
				return fmt.Errorf("want an integer from 1 to 100")
			}
			o.ChangeThreshold = &n
			return nil
		},
	}
}

// ParseOptions validates the create parameters. A known parameter with an
// invalid value is an error naming it; unknown parameters come back as
// warnings, as Canvas ignores them.
func ParseOptions(v url.Values) (Options, [][2]string, error) {
	o := Options{ImportType: "instructure_csv", UserUploadType: "create_or_update", UserMatchOn: "user_id", UserUpdateType: "file_and_defaults",
		DuplicateLoginIDs: "fail", UnlistedUserStatus: "suspended", ChangeThresholdAction: "skip_removals",
		DiffingUserRemoveStatus: "deleted", BatchModeEnrollmentDropStatus: "deleted", DiffingDropStatus: "deleted"}
	params := o.params()
	var warnings [][2]string
	for _, k := range slices.Sorted(maps.Keys(v)) {
		val := strings.TrimSpace(v.Get(k))
		parse, known := params[k]
		column, isDefault := strings.CutPrefix(k, "default[")
		if isDefault {
			column, isDefault = strings.CutSuffix(column, "]")
		}
		switch {
		case ignoredQuietly[k]:
		case !known && !isDefault:
			warnings = append(warnings, [2]string{"", fmt.Sprintf("unknown parameter %s was ignored", k)})
		case val == "":
		case isDefault:
			column = strings.ToLower(strings.TrimSpace(column))
			if !slices.Contains(templateColumns, column) {
				return o, nil, invalidParam(k, val, "a default for one of "+strings.Join(templateColumns, ", "))
			}
			if err := checkTemplate(val); err != nil {
				return o, nil, errs.New(errs.Invalid, "invalid_value", "parameter %s: %v", k, err)
			}
			if o.Defaults == nil {
				o.Defaults = map[string]string{}
			}
			o.Defaults[column] = val
		default:
			if err := parse(val); err != nil {
				return o, nil, invalidParam(k, val, strings.TrimPrefix(err.Error(), "want "))
			}
		}
	}
	if f := formats[o.ImportType]; f != nil && f.matchOn != "" && !o.MatchOnGiven {
		o.UserMatchOn = f.matchOn
	}
	if o.AddSISStickiness && o.ClearSISStickiness {
		warnings = append(warnings, [2]string{"", "parameter add_sis_stickiness was ignored: clear_sis_stickiness wins, as on Canvas"})
		o.AddSISStickiness = false
	}
	// Batch mode is on by batch_mode=true, or by multi_term_batch_mode=true
	// as on Canvas; a term id alone switches nothing on.
	if o.MultiTermBatchMode {
		o.BatchMode = true
	}
	if !o.BatchMode && o.BatchModeTermID != "" {
		warnings = append(warnings, [2]string{"", "parameter batch_mode_term_id was ignored: batch mode needs batch_mode=true"})
		o.BatchModeTermID = ""
	}
	if o.BatchMode && o.BatchModeTermID == "" && !o.MultiTermBatchMode {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "batch_mode needs batch_mode_term_id (an id or sis_term_id:X) or multi_term_batch_mode=true")
	}
	if o.BatchModeTermID != "" && o.MultiTermBatchMode {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "batch_mode_term_id and multi_term_batch_mode cannot both be given")
	}
	if o.MultiTermBatchMode && o.ChangeThreshold == nil {
		return o, nil, errs.New(errs.Invalid, "invalid_value", "multi_term_batch_mode needs change_threshold, as on Canvas")
	}
	if o.BatchMode && o.DiffingDataSet != "" {
		warnings = append(warnings, [2]string{"", "parameter diffing_data_set_identifier was ignored: batch mode wins over diffing, as on Canvas"})
		o.DiffingDataSet, o.DiffingRemaster = "", false
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
	return false, fmt.Errorf("want true or false")
}

func invalidParam(name, val, want string) error {
	return errs.New(errs.Invalid, "invalid_value", "parameter %s: %q is not valid (want %s)", name, val, want)
}
