package importer

import (
	"context"

	"github.com/sisimport/sisimport/internal/keyset"
)

// A bulk file of a OneRoster package is the whole set of its type inside
// the import's account (docs/formats-oneroster.md#bulk-delta-and-absent):
// the SIS-managed objects of the type that it does not list are removed,
// under the threshold guards, by the machinery Canvas's options use —
// remove_unlisted_users for users, batch mode's search for the others, over
// the import's account rather than a term. Nothing is removed for a type
// whose file had a file-level error.

// bulkUsers makes a bulk users file remove the users it does not list, as
// remove_unlisted_users does (unlisted.go).
func (p *orPackage) bulkUsers() {
	if p.modes["users"] == "bulk" {
		p.at.opts.RemoveUnlistedUsers = true
	}
}

// finish removes what the bulk enrollments and classes files did not list:
// enrollments, then sections, then courses.
func (p *orPackage) finish(ctx context.Context) error {
	if err := p.keepModified(ctx); err != nil {
		return err
	}
	at := p.at
	at.file = newTally()
	defer func() { at.total.add(at.file) }()
	const why = "not listed by the package's bulk file"
	if p.modes["enrollments"] == "bulk" {
		if _, err := at.removeUnlisted(ctx, typeEnrollments, why, false, nil); err != nil {
			return err
		}
	}
	if p.modes["classes"] == "bulk" {
		if err := p.removeClasses(ctx, why); err != nil {
			return err
		}
	}
	return p.removeOrgsAndSessions(ctx, why)
}

// removeClasses deletes the sections, then the courses, that a bulk
// classes file did not list.
func (p *orPackage) removeClasses(ctx context.Context, why string) error {
	for _, typ := range []string{typeSections, typeCourses} {
		if _, err := p.at.removeUnlisted(ctx, typ, why, false, nil); err != nil {
			return err
		}
	}
	return nil
}

// removeOrgsAndSessions deletes the accounts a bulk orgs file and the
// terms a bulk academicSessions file did not list, last, once what they
// held has had its turn. Only what imports manage is removed: an account
// an import made and no edit took over (last_import_id), below the
// import's account; terms only by an import posted to the root account,
// as diffing drops them.
func (p *orPackage) removeOrgsAndSessions(ctx context.Context, why string) error {
	at := p.at
	root, scope := at.account.RootAccountID, at.account.ID
	if st := at.streams[typeAccounts]; st != nil && !st.failed && p.modes["orgs"] == "bulk" {
		rm := removal{typ: typeAccounts, entity: "account", file: st.files[0], target: "deleted", why: why, guarded: true,
			update: `UPDATE accounts SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`}
		if err := p.remove(ctx, rm, st.seen, `
			SELECT x.id, x.sis_account_id, x.workflow_state, false FROM accounts x
			WHERE x.root_account_id = $1 AND $2 = ANY(x.path) AND x.id <> $2 AND x.sis_account_id IS NOT NULL
			  AND x.last_import_id IS NOT NULL AND x.workflow_state <> 'deleted' ORDER BY x.id`, root, scope); err != nil {
			return err
		}
	}
	if st := at.streams[typeTerms]; st != nil && !st.failed && p.modes["academicSessions"] == "bulk" && scope == root {
		rm := removal{typ: typeTerms, entity: "term", file: st.files[0], target: "deleted", why: why, guarded: true,
			update: `UPDATE terms SET workflow_state = $2, last_import_id = $3, updated_at = now() WHERE id = ANY($1)`}
		if err := p.remove(ctx, rm, st.seen, `
			SELECT t.id, t.sis_term_id, t.workflow_state, false FROM terms t
			WHERE t.root_account_id = $1 AND t.sis_term_id IS NOT NULL AND t.last_import_id IS NOT NULL
			  AND t.workflow_state <> 'deleted' ORDER BY t.id`, root); err != nil {
			return err
		}
	}
	return nil
}

// remove applies one removal of the objects find returns that seen did
// not list (nil: find's listed flag says).
func (p *orPackage) remove(ctx context.Context, rm removal, seen *keyset.Set, find string, args ...any) error {
	if err := p.at.findUnlisted(ctx, &rm, seen, find, args...); err != nil {
		return err
	}
	_, err := p.at.apply(ctx, rm)
	return err
}
