package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/keyset"
	"github.com/sisimport/sisimport/internal/metrics"
	"github.com/sisimport/sisimport/internal/queue"
	"github.com/sisimport/sisimport/internal/result"
)

// Runner applies claimed imports; its Handle is the queue's handler.
type Runner struct {
	DB      *pgxpool.Pool
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Lease bounds how long the import's transaction may sit idle: a worker
	// that vanished takes its transaction with it.
	Lease time.Duration
	// MaxUnzippedBytes bounds what a zip upload may expand to, MaxZipRatio
	// how many times its compressed size one member may expand to.
	MaxUnzippedBytes int64
	MaxZipRatio      int
	// MaxFieldBytes, MaxColumns and MaxRowsPerFile bound one CSV file; 0
	// leaves csvread's defaults (no bound on rows).
	MaxFieldBytes, MaxColumns, MaxRowsPerFile int
	// KeysInMemory is how many keys a key set keeps in memory before it
	// spills them to PostgreSQL; 0 keeps them all in memory.
	KeysInMemory int
}

// fileError is a file-level error: nothing of that file is applied.
type fileError struct {
	Code, Message string
}

func (e *fileError) Error() string { return e.Message }

// run is the state of one attempt at one import.
type attempt struct {
	*Runner
	job     *queue.Job
	log     *slog.Logger
	opts    Options
	account directory.Account
	tx      pgx.Tx
	results *result.Writer
	spill   *keyset.Spill // the key sets' entries past the budget
	start   time.Time

	bytesRead atomic.Int64
	rowsDone  atomic.Int64

	total       tally // of the files read so far
	file        tally // of the file being read, added to total when it ends without a file error
	fileErrors  [][2]string
	failedFiles map[string]bool
	types       []*fileType // the types of the files read, in the order read
	files       []result.FileInfo
	errorList   []FileErrorInfo
	breached    bool           // a change threshold was exceeded: nothing is applied (docs/import-rules.md#safety-thresholds)
	planned     map[string]int // removals per type that the breaching plan shows
	// diffedAgainst is the import whose file was the diffing base;
	// diffExceeded: a diff was larger than diff_row_count_threshold.
	diffedAgainst *int64
	diffExceeded  bool
	users         *usersStream           // shared by the users files, made on the first
	typeFiles     map[string]int         // how many files of each type the upload holds
	streams       map[string]*fileStream // of the other types, made on their first file
	pack          *pack                  // the upload read as a package, when its format reads one
	listedTerms   []int64                // the terms the terms files listed, for multi_term_batch_mode
	secrets       bool                   // a file has a password column: the stored upload is scrubbed at the end
	usersRenamed  bool                   // a change_sis_id row changed a user's ids in the import's transaction
}

// FileErrorInfo is a file-level error as data.file_errors keeps it.
type FileErrorInfo struct {
	File    string `json:"file"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// tally counts results for data.counts and data.actions.
type tally struct {
	actions      map[string]map[string]int // entity (plural) and "total" → action → results
	counts       map[string]int            // file type → rows not failed
	errorCount   int                       // file-level errors and threshold breaches
	warningCount int                       // failed and skipped rows, and the warnings of notes
	notes        [][2]string               // the warnings that are not about a row, every one
	warnings     [][2]string               // the first of them, for processing_warnings
	moreWarnings int
}

func newTally() tally {
	return tally{actions: map[string]map[string]int{"total": {}}, counts: map[string]int{}}
}

func (t *tally) add(o tally) {
	for entity, byAction := range o.actions {
		if t.actions[entity] == nil {
			t.actions[entity] = map[string]int{}
		}
		for a, n := range byAction {
			t.actions[entity][a] += n
		}
	}
	for k, n := range o.counts {
		t.counts[k] += n
	}
	t.errorCount += o.errorCount
	t.warningCount += o.warningCount
	t.notes = append(t.notes, o.notes...)
	for _, w := range o.warnings {
		t.warn(w[0], w[1])
	}
	t.moreWarnings += o.moreWarnings
}

// maxWarnings is Canvas's limit on processing_warnings and processing_errors.
const maxWarnings = 24

func (t *tally) warn(file, msg string) {
	if len(t.warnings) < maxWarnings {
		t.warnings = append(t.warnings, [2]string{file, msg})
	} else {
		t.moreWarnings++
	}
}

// Handle runs one attempt of job: the directory changes, the results and the
// final state commit together or not at all.
func (r *Runner) Handle(ctx context.Context, job *queue.Job) error {
	// An import keeps tens of megabytes of keys; give them back to the
	// system when it ends, as a worker may idle until the next night.
	defer debug.FreeOSMemory()
	at := &attempt{Runner: r, job: job, start: time.Now(), log: r.Log.With(slog.Int64("import_id", job.ID)),
		total: newTally(), file: newTally(), failedFiles: map[string]bool{}, spill: keyset.NewSpill(ctx, r.DB, r.KeysInMemory)}
	defer at.spill.Close()
	if err := json.Unmarshal(job.Params, &at.opts); err != nil {
		return fmt.Errorf("decode import options: %w", err)
	}
	var err error
	if at.account, err = directory.GetAccount(ctx, r.DB, job.AccountID); err != nil {
		return fmt.Errorf("load import account: %w", err)
	}
	at.tx, err = r.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin import: %w", err)
	}
	defer at.tx.Rollback(context.WithoutCancel(ctx))
	idle := strconv.Itoa(int((2 * r.Lease).Milliseconds()))
	if _, err := at.tx.Exec(ctx, "SET LOCAL idle_in_transaction_session_timeout = "+idle+"; "+pinPlans); err != nil {
		return fmt.Errorf("set import timeout: %w", err)
	}

	resCtx, cancelResults := context.WithCancel(ctx)
	defer cancelResults()
	at.results = result.StartWriter(resCtx, r.DB, job.ID, job.Attempt)
	defer at.results.Close() // also when a panic cuts the run short
	var importErr error
	if job.Kind == "restore" {
		at.file = newTally()
		importErr = at.restoreImport(ctx, *job.RestoreOf)
		at.total.add(at.file)
	} else {
		importErr = at.importUpload(ctx)
	}
	resultsErr := at.results.Close()
	if importErr == nil {
		importErr = resultsErr
	}
	if importErr == nil {
		importErr = at.spill.Failed()
	}
	if importErr == nil {
		importErr = at.dropResultsOfFailedFiles(ctx)
	}
	if importErr != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		return importErr
	}
	if job.Kind == "restore" {
		return at.finishRestore(ctx, *job.RestoreOf)
	}
	return at.finish(ctx)
}

// importUpload applies the stored file — a CSV, or the CSVs of a zip in
// Canvas's order of types. Only infrastructure failures are returned;
// problems with the files become file errors and results.
func (at *attempt) importUpload(ctx context.Context) error {
	var files []source
	if at.job.FileType == "zip" {
		zf, err := at.openZip(ctx)
		if err != nil {
			return err
		}
		defer zf.close()
		if files, err = at.zipSources(zf); err != nil {
			return err
		}
	} else {
		name := at.job.FileName
		if name == "" {
			name = "upload.csv"
		}
		files = []source{{name: name, encoding: at.job.FileEncoding, badLine: at.job.FileBadLine,
			open: func() (io.ReadCloser, error) {
				stream := queue.OpenFile(ctx, at.DB, at.job.ID)
				return readCloser{Reader: &countingReader{r: stream, n: &at.bytesRead}, Closer: stream}, nil
			}}}
	}
	readings, err := at.readings(files)
	if err != nil {
		return err
	}
	for _, r := range readings {
		if err := at.importCSV(ctx, r); err != nil {
			return err
		}
	}
	if err := at.finishUsers(ctx); err != nil {
		return err
	}
	if at.pack != nil && at.pack.finish != nil {
		if err := at.pack.finish(ctx); err != nil {
			return err
		}
	}
	return at.finishBatchMode(ctx)
}

// importCSV applies one reading of a CSV file inside a savepoint, so that
// a file-level error undoes that file alone.
func (at *attempt) importCSV(ctx context.Context, r reading) error {
	if _, err := at.tx.Exec(ctx, "SAVEPOINT file"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	at.file = newTally()
	err := at.readCSV(ctx, r)
	var fe *fileError
	if errors.As(err, &fe) {
		at.addFileError(r.src.name, fe)
		if t := r.view.typ; t != nil && at.streams[t.name] != nil {
			at.streams[t.name].failed = true
		}
		at.file = newTally()
		if _, err := at.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT file"); err != nil {
			return fmt.Errorf("roll back file: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := at.tx.Exec(ctx, "RELEASE SAVEPOINT file"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	at.total.add(at.file)
	return nil
}

// csvFileError turns the reader's fatal errors into file errors.
func csvFileError(err error) error {
	var fe *csvread.FileError
	if errors.As(err, &fe) {
		msg := fe.Error()
		if setting := BoundSettings[fe.Bound]; setting != "" {
			msg += " (the bound is " + setting + ")"
		}
		return &fileError{Code: fe.Code, Message: msg}
	}
	return err
}

// BoundSettings name the setting behind each bound of the CSV reader.
var BoundSettings = map[string]string{
	csvread.BoundFieldBytes: "SISIMPORT_MAX_FIELD_BYTES",
	csvread.BoundColumns:    "SISIMPORT_MAX_COLUMNS",
	csvread.BoundRows:       "SISIMPORT_MAX_ROWS_PER_FILE",
}

func (at *attempt) addFileError(file string, fe *fileError) {
	at.total.errorCount++
	at.failedFiles[file] = true
	at.fileErrors = append(at.fileErrors, [2]string{file, fe.Message})
	at.errorList = append(at.errorList, FileErrorInfo{File: file, Code: fe.Code, Message: fe.Message})
	at.log.Info("file error", slog.String("file", file), slog.String("code", fe.Code), slog.String("message", fe.Message))
}

// warn adds a warning about the file being read.
func (at *attempt) warn(file, msg string) { at.file.note(file, msg) }

// note counts a warning that is not about one row (rows' results carry
// theirs): the errors list shows every one, processing_warnings the first.
func (t *tally) note(file, msg string) {
	t.notes = append(t.notes, [2]string{file, msg})
	t.warningCount++
	t.warn(file, msg)
}

// record counts a batch of results of a file of type typ and hands it to
// the writer.
func (at *attempt) record(typ string, rs []result.Result) {
	t := &at.file
	for i := range rs {
		r := &rs[i]
		entity := plural(r.Entity)
		if t.actions[entity] == nil {
			t.actions[entity] = map[string]int{}
		}
		t.actions[entity][r.Action]++
		t.actions["total"][r.Action]++
		if r.Row > 0 && r.Action != result.Failed {
			t.counts[typ]++
		}
		switch r.Action {
		case result.Failed:
			// A failed row is a warning, as on Canvas: error_count counts
			// what stops a file or the import.
			t.warningCount++
			t.warn(r.File, fmt.Sprintf("line %d: %s", r.Row, r.Message))
		case result.Skipped:
			t.warningCount++
			t.warn(r.File, fmt.Sprintf("line %d: skipped: %s", r.Row, r.Message))
		}
	}
	at.rowsDone.Add(int64(len(rs)))
	at.results.Add(rs)
}

// dropResultsOfFailedFiles removes the row results of files that hit a
// file-level error: their rows were not applied (docs/import-rules.md#files).
func (at *attempt) dropResultsOfFailedFiles(ctx context.Context) error {
	for file := range at.failedFiles {
		if _, err := at.DB.Exec(ctx, `DELETE FROM sis_import_results WHERE import_id = $1 AND attempt = $2 AND file = $3`,
			at.job.ID, at.job.Attempt, file); err != nil {
			return fmt.Errorf("drop results of failed file: %w", err)
		}
	}
	return nil
}

// progress publishes how far the import is, renewing the lease; it fails
// when the import was aborted or taken over.
func (at *attempt) progress(ctx context.Context) error {
	if err := at.spill.Failed(); err != nil {
		return err
	}
	total := at.job.FileBytes
	done := at.bytesRead.Load()
	elapsed := time.Since(at.start).Seconds()
	pct, rate, eta := 0, 0.0, 0.0
	if total > 0 {
		pct = int(done * 100 / total)
	}
	if elapsed > 0 {
		rate = float64(at.rowsDone.Load()) / elapsed
		if done > 0 {
			eta = elapsed * float64(total-done) / float64(done)
		}
	}
	return at.job.Progress(ctx, pct, rate, eta)
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// plural is an entity's name in data.actions: Canvas's plural, as its
// counts have it (group_category → group_categories).
func plural(entity string) string {
	if stem, ok := strings.CutSuffix(entity, "y"); ok {
		return stem + "ies"
	}
	return entity + "s"
}
