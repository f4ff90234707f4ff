package importer

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// An import runs for seconds or minutes in one transaction, and autovacuum
// may ANALYZE a table in the middle of it, as it does about a minute after
// any large rollback. The statistics then count the rows committed before,
// not the thousands the import's transaction holds, and a plan chosen on
// them may walk every row the import wrote for each key of each batch: an
// import of 300,000 users took 161 s instead of 7. So no statement an
// import runs per batch leaves the planner a choice that statistics decide
// (docs/operations.md, "Plans that statistics cannot change"):
//   - every table it reads is reached by an index condition on the batch's
//     keys: a LATERAL probe per key, or "= ANY" of the batch's ids;
//   - the index such a condition can use is the only index it matches:
//     an index that shares its leading column is partial, with a predicate
//     only its own statements state (migrations/000010_pinned_plans);
//   - sequential scans are off (pinPlans) in the import's transaction, in
//     the transactions its lookups run in beside it, and on its spill
//     connection, so a table reached by such a condition is never read
//     whole instead. That adds a huge cost to any plan that must still
//     scan a table (a stage table, the accounts), which would make
//     PostgreSQL compile each such statement just in time, a quarter of a
//     second every batch: JIT is off with it.
//
// TestLookupsStayProbesWhenAVacuumRunsMidImport checks it.

// pinPlans starts every transaction an import reads the directory in.
const pinPlans = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"

// pinned runs fn in a transaction of its own on db whose plans statistics
// cannot change: lookups that run beside the import's transaction.
func pinned(ctx context.Context, db *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pinPlans); err != nil {
			return fmt.Errorf("pin plans: %w", err)
		}
		return fn(tx)
	})
}
