package importer

import "fmt"

// Threshold defaults (docs/import-rules.md#safety-thresholds): with remove_unlisted_users, at most 20 %
// of the eligible users may be removed unless change_threshold says
// otherwise; removing every eligible object of a type needs
// change_threshold=100.
const (
	defaultUnlistedThreshold = 20
	everyoneGuardMin         = 10
)

// overThreshold says why removing n of the eligible objects of a file type
// breaches the change threshold, or "": change_threshold if given, else
// limit (%). Removing everyone, where there are at least 10 or the type's
// files held no valid row, needs change_threshold=100; an approved re-run
// may remove what its held plan showed.
func (at *attempt) overThreshold(typ string, n, eligible, limit int) string {
	if n == 0 {
		return ""
	}
	if approved, ok := at.opts.ApprovedRemovals[typ]; ok {
		if n <= approved {
			return ""
		}
		return fmt.Sprintf("threshold_exceeded: the approved plan removed %d %s; the import would now remove %d", approved, typ, n)
	}
	explicit := false
	if t := at.opts.ChangeThreshold; t != nil {
		limit, explicit = *t, true
	}
	pct := float64(n) * 100 / float64(eligible)
	validRows := at.total.counts[typ]+at.file.counts[typ] > 0 // the file being read counts too
	everyone := n == eligible && (eligible >= everyoneGuardMin || !validRows)
	switch {
	case everyone && !(explicit && limit == 100):
		return fmt.Sprintf("threshold_exceeded: the import would remove every one of the %d SIS-managed %s it could remove; that needs change_threshold=100", eligible, typ)
	case pct > float64(limit):
		return fmt.Sprintf("threshold_exceeded: the import would remove %d of %d %s (%.1f %%), above change_threshold %d %%", n, eligible, typ, pct, limit)
	}
	return ""
}
