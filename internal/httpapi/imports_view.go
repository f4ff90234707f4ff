package httpapi

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sisimport/sisimport/internal/importer"
	"github.com/sisimport/sisimport/internal/queue"
)

// sisImportJSON is the SisImport object of docs/api.md#the-sisimport-object.
type sisImportJSON struct {
	ID                        int64           `json:"id"`
	CreatedAt                 time.Time       `json:"created_at"`
	StartedAt                 *time.Time      `json:"started_at"`
	EndedAt                   *time.Time      `json:"ended_at"`
	UpdatedAt                 time.Time       `json:"updated_at"`
	WorkflowState             string          `json:"workflow_state"`
	Progress                  int             `json:"progress"`
	Data                      json.RawMessage `json:"data"`
	BatchMode                 bool            `json:"batch_mode"`
	BatchModeTermID           *string         `json:"batch_mode_term_id"`
	MultiTermBatchMode        bool            `json:"multi_term_batch_mode"`
	SkipDeletes               bool            `json:"skip_deletes"`
	OverrideSISStickiness     bool            `json:"override_sis_stickiness"`
	AddSISStickiness          bool            `json:"add_sis_stickiness"`
	ClearSISStickiness        bool            `json:"clear_sis_stickiness"`
	ChangeThreshold           *int            `json:"change_threshold"`
	DiffingDataSetIdentifier  *string         `json:"diffing_data_set_identifier"`
	DiffingRemaster           bool            `json:"diffing_remaster"`
	DiffedAgainstImportID     *int64          `json:"diffed_against_import_id"`
	DiffingDropStatus         *string         `json:"diffing_drop_status"`
	DiffingUserRemoveStatus   *string         `json:"diffing_user_remove_status,omitempty"`
	DiffRowCountThreshold     *int            `json:"diff_row_count_threshold"`
	UpdateSISIDIfLoginClaimed bool            `json:"update_sis_id_if_login_claimed"`
	DiffingThresholdExceeded  *bool           `json:"diffing_threshold_exceeded,omitempty"`
	ProcessingWarnings        json.RawMessage `json:"processing_warnings,omitempty"`
	ProcessingErrors          json.RawMessage `json:"processing_errors,omitempty"`
	ErrorsAttachment          *fileJSON       `json:"errors_attachment,omitempty"`
	CSVAttachments            []fileJSON      `json:"csv_attachments,omitempty"`
	User                      userRefJSON     `json:"user"`
	DryRun                    bool            `json:"dry_run"`
	Atomic                    bool            `json:"atomic"`
	BlockedBy                 *int64          `json:"blocked_by,omitempty"`
	RowsPerSecond             *int64          `json:"rows_per_second,omitempty"`
	EtaSeconds                *int64          `json:"eta_seconds,omitempty"`
}

// fileJSON is Canvas's File object, for what an import offers to download.
type fileJSON struct {
	ID          int64  `json:"id"`
	DisplayName string `json:"display_name"`
	Filename    string `json:"filename"`
	ContentType string `json:"content-type"`
	URL         string `json:"url"`
	MimeClass   string `json:"mime_class"`
	Locked      bool   `json:"locked"`
	Hidden      bool   `json:"hidden"`
}

type userRefJSON struct {
	ID   *int64 `json:"id"`
	Name string `json:"name"`
}

// importData is the part of data the view reads.
type importData struct {
	Counts        map[string]int `json:"counts"`
	DiffedAgainst *int64         `json:"diffed_against_import_id"`
	DiffExceeded  bool           `json:"diffing_threshold_exceeded"`
	RowsPerSecond *int64         `json:"rows_per_second"`
	EtaSeconds    *int64         `json:"eta_seconds"`
}

func sisImportView(i queue.Import, blockedBy *int64) sisImportJSON {
	var o importer.Options
	_ = json.Unmarshal(i.Params, &o)
	var d importData
	_ = json.Unmarshal(i.Data, &d)
	v := sisImportJSON{
		ID: i.ID, CreatedAt: i.CreatedAt, StartedAt: i.StartedAt, EndedAt: i.EndedAt, UpdatedAt: i.UpdatedAt,
		WorkflowState: i.WorkflowState, Progress: i.Progress, Data: i.Data,
		BatchMode: o.BatchMode, SkipDeletes: o.SkipDeletes, OverrideSISStickiness: o.OverrideSISStickiness,
		AddSISStickiness: o.AddSISStickiness, ClearSISStickiness: o.ClearSISStickiness, ChangeThreshold: o.ChangeThreshold,
		DiffingRemaster: o.DiffingRemaster, ProcessingWarnings: i.ProcessingWarnings, ProcessingErrors: i.ProcessingErrors,
		User: userRefJSON{ID: i.TokenID, Name: i.TokenName}, DryRun: o.DryRun, Atomic: o.Atomic, BlockedBy: blockedBy,
		DiffedAgainstImportID: d.DiffedAgainst, MultiTermBatchMode: o.MultiTermBatchMode,
		UpdateSISIDIfLoginClaimed: o.UpdateSISIDIfLoginClaimed,
	}
	if o.DiffRowCountThreshold > 0 {
		v.DiffRowCountThreshold = &o.DiffRowCountThreshold
	}
	if o.BatchModeTermID != "" {
		v.BatchModeTermID = &o.BatchModeTermID
	}
	if o.DiffingDataSet != "" {
		v.DiffingDataSetIdentifier, v.DiffingDropStatus, v.DiffingUserRemoveStatus = &o.DiffingDataSet, &o.DiffingDropStatus, &o.DiffingUserRemoveStatus
		v.DiffingThresholdExceeded = &d.DiffExceeded
	}
	if !i.Running() {
		v.Progress = 100
	} else {
		// What data holds while the import runs is its live rate, shown at
		// the top level; its counts come when it ends.
		v.RowsPerSecond, v.EtaSeconds, v.Data = d.RowsPerSecond, d.EtaSeconds, nil
	}
	// As Canvas: the errors and warnings file once the import is done and
	// has any, and no empty lists of them.
	if !i.Running() && (d.Counts["error_count"] > 0 || d.Counts["warning_count"] > 0 || !empty(i.ProcessingErrors) || !empty(i.ProcessingWarnings)) {
		name := fmt.Sprintf("sis_errors_attachment_%d.csv", i.ID)
		v.ErrorsAttachment = &fileJSON{ID: i.ID, DisplayName: name, Filename: name, ContentType: "text/csv", MimeClass: "file",
			URL: fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d/errors.csv", i.AccountID, i.ID)}
	}
	// The upload, as Canvas lists the files of an import, until retention
	// removes it; its passwords are blanked before it can be read.
	if i.PurgedAt == nil {
		ct := "text/csv"
		if i.FileType == "zip" {
			ct = "application/zip"
		}
		v.CSVAttachments = []fileJSON{{ID: i.ID, DisplayName: i.FileName, Filename: i.FileName, ContentType: ct, MimeClass: "file",
			URL: fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d/file", i.AccountID, i.ID)}}
	}
	if empty(v.ProcessingWarnings) {
		v.ProcessingWarnings = nil
	}
	if empty(v.ProcessingErrors) {
		v.ProcessingErrors = nil
	}
	if len(v.Data) == 0 || string(v.Data) == "{}" {
		v.Data = json.RawMessage(`{"import_type":"instructure_csv"}`)
	}
	return v
}

// empty says whether a JSON list is empty or absent.
func empty(list json.RawMessage) bool {
	return len(list) == 0 || string(list) == "[]" || string(list) == "null"
}
