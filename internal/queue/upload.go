package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sisimport/sisimport/internal/errs"
)

// ChunkSize is the size of the pieces an upload is stored in.
const ChunkSize = 1 << 20

// NewImport describes an upload about to be stored.
type NewImport struct {
	AccountID      int64
	RootAccountID  int64
	TokenID        int64
	TokenName      string
	IdempotencyKey string
}

// Upload is an import being stored: its file streams into sis_import_chunks
// inside one transaction, so a failed or refused upload leaves nothing.
type Upload struct {
	tx    pgx.Tx
	id    int64
	seq   int32
	Bytes int64
}

// BeginUpload opens the transaction of a new import. The caller must call
// Commit or Rollback.
func BeginUpload(ctx context.Context, db *pgxpool.Pool, n NewImport) (*Upload, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin upload: %w", err)
	}
	u := &Upload{tx: tx}
	var key *string
	if n.IdempotencyKey != "" {
		key = &n.IdempotencyKey
		// A key is remembered for 24 hours; after that it may name a new import.
		if _, err := tx.Exec(ctx, `UPDATE sis_imports SET idempotency_key = NULL
			WHERE account_id = $1 AND idempotency_key = $2 AND created_at < now() - interval '24 hours'`, n.AccountID, key); err != nil {
			tx.Rollback(ctx)
			return nil, fmt.Errorf("expire idempotency key: %w", err)
		}
	}
	err = tx.QueryRow(ctx, `INSERT INTO sis_imports (account_id, root_account_id, token_id, token_name, idempotency_key, workflow_state)
		VALUES ($1, $2, $3, $4, $5, 'uploading') RETURNING id`,
		n.AccountID, n.RootAccountID, n.TokenID, n.TokenName, key).Scan(&u.id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		tx.Rollback(ctx)
		return nil, ErrDuplicateKey
	}
	if err != nil {
		tx.Rollback(ctx)
		return nil, fmt.Errorf("create import: %w", err)
	}
	return u, nil
}

// Write streams r into the import's stored file with COPY, a chunk at a time.
func (u *Upload) Write(ctx context.Context, r io.Reader) error {
	src := &chunkSource{r: r, u: u, buf: make([]byte, ChunkSize)}
	_, err := u.tx.CopyFrom(ctx, pgx.Identifier{"sis_import_chunks"}, []string{"import_id", "seq", "data"}, src)
	if src.err != nil {
		return &ReadError{Err: src.err}
	}
	if err != nil {
		return fmt.Errorf("store upload: %w", err)
	}
	return nil
}

// ReadError is a failure to read the client's upload (cut off, too large),
// as opposed to a failure to store it.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// ErrDuplicateKey means an import with the same Idempotency-Key was stored
// meanwhile; look it up with FindIdempotent.
var ErrDuplicateKey = errors.New("idempotency key already used")

// FindIdempotent finds the import stored under key in the last 24 hours.
func FindIdempotent(ctx context.Context, db *pgxpool.Pool, accountID int64, key string) (Import, error) {
	i, err := scanImport(db.QueryRow(ctx, `SELECT `+importColumns+` FROM sis_imports
		WHERE account_id = $1 AND idempotency_key = $2 AND created_at >= now() - interval '24 hours'`, accountID, key))
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return i, fmt.Errorf("find idempotent import: %w", err)
	}
	return i, err
}

// Stored describes the upload once it is fully read.
type Stored struct {
	FileName string
	FileType string // csv or zip
	Encoding string
	BadLine  int
	Params   any
	Warnings [][2]string
}

// Commit queues the import and returns it as queued: from now on a worker
// may claim it.
func (u *Upload) Commit(ctx context.Context, s Stored) (Import, error) {
	params, err := json.Marshal(s.Params)
	if err != nil {
		return Import{}, fmt.Errorf("encode params: %w", err)
	}
	warnings := s.Warnings
	if warnings == nil {
		warnings = [][2]string{}
	}
	w, _ := json.Marshal(warnings)
	var bad *int
	if s.BadLine > 0 {
		bad = &s.BadLine
	}
	i, err := scanImport(u.tx.QueryRow(ctx, `UPDATE sis_imports SET workflow_state = 'created', params = $2, file_name = $3,
		file_type = $4, file_bytes = $5, file_encoding = $6, file_bad_line = $7, processing_warnings = $8,
		created_at = clock_timestamp(), updated_at = clock_timestamp()
		WHERE id = $1 RETURNING `+importColumns, u.id, params, s.FileName, s.FileType, u.Bytes, s.Encoding, bad, w))
	if err != nil {
		return i, fmt.Errorf("queue import: %w", err)
	}
	if err := u.tx.Commit(ctx); err != nil {
		return i, fmt.Errorf("commit upload: %w", err)
	}
	return i, nil
}

// Rollback discards the upload; it is safe after Commit.
func (u *Upload) Rollback(ctx context.Context) {
	_ = u.tx.Rollback(ctx)
}

// chunkSource feeds COPY with ChunkSize pieces of the upload.
type chunkSource struct {
	r   io.Reader
	u   *Upload
	buf []byte
	n   int
	err error
}

func (s *chunkSource) Next() bool {
	if s.err != nil {
		return false
	}
	n, err := io.ReadFull(s.r, s.buf)
	s.n = n
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		s.err = err
		return false
	}
	if n == 0 {
		return false
	}
	s.u.seq++
	s.u.Bytes += int64(n)
	return true
}

func (s *chunkSource) Values() ([]any, error) {
	return []any{s.u.id, s.u.seq, s.buf[:s.n]}, nil
}

func (s *chunkSource) Err() error { return s.err }

// OpenFile streams the stored file of import id, a chunk at a time, on a
// connection of its own. Close the reader when done.
func OpenFile(ctx context.Context, db *pgxpool.Pool, id int64) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		rows, err := db.Query(ctx, `SELECT data FROM sis_import_chunks WHERE import_id = $1 ORDER BY seq`, id)
		if err != nil {
			pw.CloseWithError(fmt.Errorf("read stored file: %w", err))
			return
		}
		defer rows.Close()
		var chunk []byte
		for rows.Next() {
			if err := rows.Scan(&chunk); err != nil {
				pw.CloseWithError(fmt.Errorf("read stored file: %w", err))
				return
			}
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			pw.CloseWithError(fmt.Errorf("read stored file: %w", err))
			return
		}
		pw.Close()
	}()
	return storedFile{pr, cancel}
}

// storedFile is a stored file being read. Closing it before its end ends
// the query too, rather than reading the rest of the file to drop it.
type storedFile struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (f storedFile) Close() error {
	f.cancel()
	return f.PipeReader.Close()
}

// ReplaceFile replaces the stored file of import id with r, in tx, and
// returns its new size.
func ReplaceFile(ctx context.Context, tx pgx.Tx, id int64, r io.Reader) (int64, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM sis_import_chunks WHERE import_id = $1`, id); err != nil {
		return 0, fmt.Errorf("replace stored file: %w", err)
	}
	u := &Upload{tx: tx, id: id}
	if err := u.Write(ctx, r); err != nil {
		return 0, fmt.Errorf("replace stored file: %w", err)
	}
	return u.Bytes, nil
}
