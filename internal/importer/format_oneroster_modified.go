package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sisimport/sisimport/internal/csvread"
)

// modifiedColumn is the binding's dateLastModified, as headers come
// lower-cased.
const modifiedColumn = "datelastmodified"

// modifiedTargets are where each file's dateLastModified is kept: the
// table and SIS id column of each object its rows write
// (docs/formats-oneroster.md#bulk-delta-and-absent). Enrollments have no
// SIS id to find theirs by.
var modifiedTargets = map[string][][2]string{
	"orgs":             {{"accounts", "sis_account_id"}},
	"academicSessions": {{"terms", "sis_term_id"}},
	"classes":          {{"courses", "sis_course_id"}, {"sections", "sis_section_id"}},
	"users":            {{"users", "sis_user_id"}},
}

// keepModified keeps each row's dateLastModified on the objects this
// import wrote from it (sis_modified_at): a row that failed, or changed
// nothing, leaves its object's as it was. A date that is not ISO 8601 is
// not kept, and the file says so once.
func (p *orPackage) keepModified(ctx context.Context) error {
	for _, src := range p.files {
		targets := modifiedTargets[p.names[src.name]]
		if targets == nil {
			continue
		}
		ids, ats, err := p.readModified(src)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			continue // the file gives no dates; the next may
		}
		for _, t := range targets {
			if _, err := p.at.tx.Exec(ctx, fmt.Sprintf(`UPDATE %[1]s x SET sis_modified_at = k.at
				FROM unnest($2::text[], $3::timestamptz[]) AS k(id, at)
				WHERE x.root_account_id = $1 AND x.%[2]s = k.id AND x.last_import_id = $4`, t[0], t[1]),
				p.at.account.RootAccountID, ids, ats, p.at.job.ID); err != nil {
				return fmt.Errorf("keep dateLastModified of %s: %w", t[0], err)
			}
		}
	}
	return nil
}

// readModified reads a file's sourcedId and dateLastModified cells.
func (p *orPackage) readModified(src source) ([]string, []time.Time, error) {
	rd, _, cols, err := p.at.openCSV(src, false)
	if err != nil {
		return nil, nil, nil // the file's own reading reported it
	}
	defer rd.close()
	idAt, hasID := cols["sourcedid"]
	dateAt, hasDate := cols[modifiedColumn]
	if !hasID || !hasDate {
		return nil, nil, nil
	}
	var ids []string
	var ats []time.Time
	bad := 0
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *csvread.RowError
		if errors.As(err, &rowErr) {
			continue // its row's result says why
		} else if err != nil {
			return nil, nil, nil // a file-level error, which the file's own reading reported
		}
		key, when := cell(rec.Fields, idAt), cell(rec.Fields, dateAt)
		if key == "" || when == "" {
			continue
		}
		t, ok := ParseDate(when)
		if !ok {
			bad++
			continue
		}
		ids, ats = append(ids, key), append(ats, t)
	}
	if bad > 0 {
		p.at.total.note(src.name, fmt.Sprintf("column dateLastModified: %d rows have a date that is not ISO 8601; theirs was not kept", bad))
	}
	return ids, ats, nil
}
