package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/csvread"
	"github.com/sisimport/sisimport/internal/directory"
	"github.com/sisimport/sisimport/internal/metrics"
	"github.com/sisimport/sisimport/internal/queue"
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
type run struct {
	*Runner
	job     *queue.Job
	log     *slog.Logger
	opts    Options
	account directory.Account
	tx      pgx.Tx
	results *resultWriter
	spill   *keySpill // the key sets' entries past the budget
	start   time.Time

	bytesRead atomic.Int64
	rowsDone  atomic.Int64

	total       tally // of the files read so far
	file        tally // of the file being read, added to total when it ends without a file error
	fileErrors  [][2]string
	failedFiles map[string]bool
	types       []string
	files       []FileInfo
	errorList   []FileErrorInfo
	breached    bool           // a change threshold was exceeded: nothing is applied (SPEC §4.6)
	planned     map[string]int // removals per type that the breaching plan shows
	// diffedAgainst is the import whose file was the diffing base.
	diffedAgainst *int64
	users         *usersStream           // shared by the users files, made on the first
	typeFiles     map[string]int         // how many files of each type the upload holds
	streams       map[string]*fileStream // of the other types, made on their first file
	listedTerms   []int64                // the terms the terms files listed, for multi_term_batch_mode
	secrets       bool                   // a file has a password column: the stored upload is scrubbed at the end
	usersRenamed  bool                   // a change_sis_id row changed a user's ids in the import's transaction
}

// FileInfo is what data.files says of each file read: its type and header,
// from which format=original rebuilds failed rows.
type FileInfo struct {
	File   string   `json:"file"`
	Type   string   `json:"type"`
	Header []string `json:"header"`
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
	errorCount   int
	warningCount int
	warnings     [][2]string // the first of them, for processing_warnings
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
	ru := &run{Runner: r, job: job, start: time.Now(), log: r.Log.With(slog.Int64("import_id", job.ID)),
		total: newTally(), file: newTally(), failedFiles: map[string]bool{}, spill: r.newKeySpill(ctx)}
	defer ru.spill.close()
	if err := json.Unmarshal(job.Params, &ru.opts); err != nil {
		return fmt.Errorf("decode import options: %w", err)
	}
	var err error
	if ru.account, err = directory.GetAccount(ctx, r.DB, job.AccountID); err != nil {
		return fmt.Errorf("load import account: %w", err)
	}
	ru.tx, err = r.DB.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin import: %w", err)
	}
	defer ru.tx.Rollback(context.WithoutCancel(ctx))
	idle := strconv.Itoa(int((2 * r.Lease).Milliseconds()))
	if _, err := ru.tx.Exec(ctx, "SET LOCAL idle_in_transaction_session_timeout = "+idle+"; "+pinPlans); err != nil {
		return fmt.Errorf("set import timeout: %w", err)
	}

	resCtx, cancelResults := context.WithCancel(ctx)
	defer cancelResults()
	ru.results = startResultWriter(resCtx, r.DB, job.ID, job.Attempt)
	defer ru.results.close() // also when a panic cuts the run short
	var importErr error
	if job.Kind == "restore" {
		ru.file = newTally()
		importErr = ru.restoreImport(ctx, *job.RestoreOf)
		ru.total.add(ru.file)
	} else {
		importErr = ru.importUpload(ctx)
	}
	resultsErr := ru.results.close()
	if importErr == nil {
		importErr = resultsErr
	}
	if importErr == nil {
		importErr = ru.spill.failed()
	}
	if importErr == nil {
		importErr = ru.dropResultsOfFailedFiles(ctx)
	}
	if importErr != nil {
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		return importErr
	}
	if job.Kind == "restore" {
		return ru.finishRestore(ctx, *job.RestoreOf)
	}
	return ru.finish(ctx)
}

// importUpload applies the stored file — a CSV, or the CSVs of a zip in
// Canvas's order of types. Only infrastructure failures are returned;
// problems with the files become file errors and results.
func (ru *run) importUpload(ctx context.Context) error {
	var files []source
	if ru.job.FileType == "zip" {
		zf, err := ru.openZip(ctx)
		if err != nil {
			return err
		}
		defer zf.close()
		if files, err = ru.zipSources(zf); err != nil {
			return err
		}
	} else {
		name := ru.job.FileName
		if name == "" {
			name = "upload.csv"
		}
		files = []source{{name: name, encoding: ru.job.FileEncoding, badLine: ru.job.FileBadLine,
			open: func() (io.ReadCloser, error) {
				stream := queue.OpenFile(ctx, ru.DB, ru.job.ID)
				return readCloser{Reader: &countingReader{r: stream, n: &ru.bytesRead}, Closer: stream}, nil
			}}}
	}
	if err := ru.detectTypes(files); err != nil {
		return err
	}
	for _, f := range files {
		if err := ru.importCSV(ctx, f); err != nil {
			return err
		}
	}
	if err := ru.finishUsers(ctx); err != nil {
		return err
	}
	return ru.finishBatchMode(ctx)
}

// importCSV applies one CSV file inside a savepoint, so that a file-level
// error undoes that file alone.
func (ru *run) importCSV(ctx context.Context, f source) error {
	if _, err := ru.tx.Exec(ctx, "SAVEPOINT file"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	ru.file = newTally()
	err := ru.readCSV(ctx, f)
	var fe *fileError
	if errors.As(err, &fe) {
		ru.addFileError(f.name, fe)
		if f.typ == typeUsers && ru.users != nil {
			ru.users.failed = true
		}
		if st := ru.streams[f.typ]; st != nil {
			st.failed = true
		}
		ru.file = newTally()
		if _, err := ru.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT file"); err != nil {
			return fmt.Errorf("roll back file: %w", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := ru.tx.Exec(ctx, "RELEASE SAVEPOINT file"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	ru.total.add(ru.file)
	return nil
}

// readCSV reads a file's header and hands it to its type's rules.
func (ru *run) readCSV(ctx context.Context, f source) error {
	rd, head, cols, err := ru.openCSV(f, true)
	if err != nil {
		return err
	}
	defer rd.close()
	if hasSecretColumn(cols) && !ru.secrets {
		// Marked at once, outside the import's transaction, so that the
		// scrubber finds the upload however the import ends.
		ru.secrets = true
		if _, err := ru.DB.Exec(ctx, `UPDATE sis_imports SET file_secrets = true WHERE id = $1`, ru.job.ID); err != nil {
			return fmt.Errorf("mark secrets: %w", err)
		}
	}
	switch {
	case f.typ == "":
		return &fileError{Code: "unknown_file_type", Message: fmt.Sprintf("line %d: the header matches no known file type (users need user_id, login_id and status)", head.Line)}
	case f.skipped:
		ru.warn(f.name, fmt.Sprintf("%s files are not imported by sisimport; the file was skipped", f.typ))
		return nil
	}
	if !slices.Contains(ru.types, f.typ) {
		ru.types = append(ru.types, f.typ)
	}
	ru.files = append(ru.files, FileInfo{File: f.name, Type: f.typ, Header: head.Fields})
	switch f.typ {
	case typeAccounts:
		return ru.importAccounts(ctx, f.name, head, cols, rd.Reader)
	case typeTerms:
		return ru.importTerms(ctx, f.name, head, cols, rd.Reader)
	case typeUserDeactivation:
		return ru.importDeactivations(ctx, f.name, head, cols, rd.Reader)
	case typeCourses:
		return ru.importCourses(ctx, f.name, head, cols, rd.Reader)
	case typeSections:
		return ru.importSections(ctx, f.name, head, cols, rd.Reader)
	case typeEnrollments:
		return ru.importEnrollments(ctx, f.name, head, cols, rd.Reader)
	case typeGroups:
		return ru.importGroups(ctx, f.name, head, cols, rd.Reader)
	case typeGroupMemberships:
		return ru.importMemberships(ctx, f.name, head, cols, rd.Reader)
	case typeChangeSISID:
		return ru.importChangeSISID(ctx, f.name, head, cols, rd.Reader)
	}
	return ru.importUsers(ctx, f.name, head, cols, rd.Reader)
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

func (ru *run) addFileError(file string, fe *fileError) {
	ru.total.errorCount++
	ru.failedFiles[file] = true
	ru.fileErrors = append(ru.fileErrors, [2]string{file, fe.Message})
	ru.errorList = append(ru.errorList, FileErrorInfo{File: file, Code: fe.Code, Message: fe.Message})
	ru.log.Info("file error", slog.String("file", file), slog.String("code", fe.Code), slog.String("message", fe.Message))
}

// breach records a threshold breach: the import ends aborted, applying
// nothing, with its results showing what it would have done.
func (ru *run) breach(typ string, removals int, file, msg string) {
	ru.breached = true
	if ru.planned == nil {
		ru.planned = map[string]int{}
	}
	ru.planned[typ] = removals
	ru.fileErrors = append(ru.fileErrors, [2]string{file, msg})
	ru.errorList = append(ru.errorList, FileErrorInfo{File: file, Code: "threshold_exceeded", Message: msg})
	ru.log.Info("threshold exceeded", slog.String("file", file), slog.String("message", msg))
}

// warn adds a warning about the file being read.
func (ru *run) warn(file, msg string) {
	ru.file.warningCount++
	ru.file.warn(file, msg)
}

// record counts a batch of results of a file of type typ and hands it to
// the writer.
func (ru *run) record(typ string, rs []Result) {
	t := &ru.file
	for i := range rs {
		r := &rs[i]
		entity := r.Entity + "s"
		if t.actions[entity] == nil {
			t.actions[entity] = map[string]int{}
		}
		t.actions[entity][r.Action]++
		t.actions["total"][r.Action]++
		if r.Row > 0 && r.Action != Failed {
			t.counts[typ]++
		}
		switch r.Action {
		case Failed:
			t.errorCount++
			t.warn(r.File, fmt.Sprintf("line %d: %s", r.Row, r.Message))
		case Skipped:
			t.warningCount++
			t.warn(r.File, fmt.Sprintf("line %d: skipped: %s", r.Row, r.Message))
		}
	}
	ru.rowsDone.Add(int64(len(rs)))
	ru.results.add(rs)
}

// dropResultsOfFailedFiles removes the row results of files that hit a
// file-level error: their rows were not applied (SPEC §4.1).
func (ru *run) dropResultsOfFailedFiles(ctx context.Context) error {
	for file := range ru.failedFiles {
		if _, err := ru.DB.Exec(ctx, `DELETE FROM sis_import_results WHERE import_id = $1 AND attempt = $2 AND file = $3`,
			ru.job.ID, ru.job.Attempt, file); err != nil {
			return fmt.Errorf("drop results of failed file: %w", err)
		}
	}
	return nil
}

// progress publishes how far the import is, renewing the lease; it fails
// when the import was aborted or taken over.
func (ru *run) progress(ctx context.Context) error {
	if err := ru.spill.failed(); err != nil {
		return err
	}
	total := ru.job.FileBytes
	done := ru.bytesRead.Load()
	elapsed := time.Since(ru.start).Seconds()
	pct, rate, eta := 0, 0.0, 0.0
	if total > 0 {
		pct = int(done * 100 / total)
	}
	if elapsed > 0 {
		rate = float64(ru.rowsDone.Load()) / elapsed
		if done > 0 {
			eta = elapsed * float64(total-done) / float64(done)
		}
	}
	return ru.job.Progress(ctx, pct, rate, eta)
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
