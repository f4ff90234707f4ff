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
	ID                       int64           `json:"id"`
	CreatedAt                time.Time       `json:"created_at"`
	StartedAt                *time.Time      `json:"started_at"`
	EndedAt                  *time.Time      `json:"ended_at"`
	UpdatedAt                time.Time       `json:"updated_at"`
	WorkflowState            string          `json:"workflow_state"`
	Progress                 int             `json:"progress"`
	Data                     json.RawMessage `json:"data"`
	BatchMode                bool            `json:"batch_mode"`
	BatchModeTermID          *string         `json:"batch_mode_term_id"`
	MultiTermBatchMode       bool            `json:"multi_term_batch_mode"`
	SkipDeletes              bool            `json:"skip_deletes"`
	OverrideSISStickiness    bool            `json:"override_sis_stickiness"`
	AddSISStickiness         bool            `json:"add_sis_stickiness"`
	ClearSISStickiness       bool            `json:"clear_sis_stickiness"`
	ChangeThreshold          *int            `json:"change_threshold"`
	DiffingDataSetIdentifier *string         `json:"diffing_data_set_identifier"`
	DiffingRemaster          bool            `json:"diffing_remaster"`
	DiffedAgainstImportID    *int64          `json:"diffed_against_import_id"`
	DiffingDropStatus        *string         `json:"diffing_drop_status"`
	ProcessingWarnings       json.RawMessage `json:"processing_warnings"`
	ProcessingErrors         json.RawMessage `json:"processing_errors"`
	ErrorsAttachment         *attachmentJSON `json:"errors_attachment"`
	User                     userRefJSON     `json:"user"`
	DryRun                   bool            `json:"dry_run"`
	Atomic                   bool            `json:"atomic"`
	BlockedBy                *int64          `json:"blocked_by,omitempty"`
	RowsPerSecond            *int64          `json:"rows_per_second,omitempty"`
	EtaSeconds               *int64          `json:"eta_seconds,omitempty"`
}

type attachmentJSON struct {
	URL string `json:"url"`
}

type userRefJSON struct {
	ID   *int64 `json:"id"`
	Name string `json:"name"`
}

// importData is the part of data the view reads.
type importData struct {
	Counts        map[string]int `json:"counts"`
	DiffedAgainst *int64         `json:"diffed_against_import_id"`
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
	}
	if o.BatchModeTermID != "" {
		v.BatchModeTermID = &o.BatchModeTermID
	}
	if o.DiffingDataSet != "" {
		v.DiffingDropStatus = &o.DiffingDropStatus
	}
	if o.DiffingDataSet != "" {
		v.DiffingDataSetIdentifier = &o.DiffingDataSet
	}
	if !i.Running() {
		v.Progress = 100
	} else {
		// What data holds while the import runs is its live rate, shown at
		// the top level; its counts come when it ends.
		v.RowsPerSecond, v.EtaSeconds, v.Data = d.RowsPerSecond, d.EtaSeconds, nil
	}
	if d.Counts["error_count"] > 0 || string(i.ProcessingErrors) != "[]" {
		v.ErrorsAttachment = &attachmentJSON{URL: fmt.Sprintf("/api/v1/accounts/%d/sis_imports/%d/errors.csv", i.AccountID, i.ID)}
	}
	if len(v.Data) == 0 || string(v.Data) == "{}" {
		v.Data = json.RawMessage(`{"import_type":"instructure_csv"}`)
	}
	return v
}
