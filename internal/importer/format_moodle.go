package importer

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// moodle is Moodle's "Upload users" file (docs/formats-moodle.md), read
// as a users file, one group joins view per cohortN and groupN column,
// and one enrollments view per courseN column. Its key for users is the
// username, the login id.
func init() {
	registerFormat(&format{name: "moodle_csv", views: moodleViews, detect: isMoodleHeader, matchOn: "login_id"})
}

// isMoodleHeader recognises Moodle's header beyond doubt: a username and
// a first or last name, and none of the columns that make a Canvas users
// file.
func isMoodleHeader(h header) bool {
	return h.has("username") && (h.has("firstname") || h.has("lastname")) && !h.has("login_id") && !(h.has("user_id") && h.has("status"))
}

// moodleColumns are Moodle's names of the users columns that say the
// same thing; the rest are derived or read by other views.
var moodleColumns = map[string]string{"user_id": "idnumber", "first_name": "firstname", "last_name": "lastname",
	"email": "email", "password": "password", "authentication_provider_id": "auth"}

// moodleNumbered matches Moodle's numbered columns: course1, role1, group1, …
var moodleNumbered = regexp.MustCompile(`^(course|role|group|cohort|enrolstatus|enroltimestart|enrolperiod|type)([0-9]+)$`)

func moodleViews(_ string, h header) []view {
	if !h.has("username") && !h.updateOnly() {
		return nil
	}
	var o Options
	if h.opts != nil {
		o = *h.opts
	}
	users := view{typ: byName[typeUsers], columns: maps.Clone(moodleColumns), prefixes: map[string]string{"property.": "profile_field_"},
		derived: map[string]derived{
			"login_id":     {from: []string{"username"}, value: func(c []string) string { return strings.ToLower(c[0]) }},
			"old_login_id": {from: []string{"oldusername"}, value: func(c []string) string { return strings.ToLower(c[0]) }},
			"status":       {from: []string{"suspended", "deleted"}, value: moodleStatus(o)},
		}}
	if h.has("suspended") && !o.AllowSuspends {
		users.notes = append(users.notes, "column suspended was not applied: suspending and unsuspending users needs allow_suspends=true")
	}
	if h.has("deleted") && !o.AllowDeletes {
		users.notes = append(users.notes, "column deleted was not applied: deleting users needs allow_deletes=true")
	}
	vs := []view{users}
	var ns []string
	for c := range h.cols {
		if m := moodleNumbered.FindStringSubmatch(c); m != nil && (m[1] == "cohort" || m[1] == "course") {
			ns = append(ns, m[1]+"\x00"+m[2])
		}
	}
	slices.Sort(ns)
	for _, kn := range ns {
		kind, n, _ := strings.Cut(kn, "\x00")
		switch kind {
		case "cohort":
			vs = append(vs, groupJoinView("idnumber", "username", "cohort"+n, ""))
		case "course":
			vs = append(vs, moodleEnrollments(n))
			if h.has("group" + n) {
				vs = append(vs, groupJoinView("idnumber", "username", "group"+n, "course"+n))
			}
		}
	}
	return vs
}

// moodleStatus reads Moodle's deleted and suspended flags as a users
// status, each only when its allow_* parameter is set; otherwise the
// status says nothing, so a matched user keeps its own and a new one is
// active (newUserNeeds).
func moodleStatus(o Options) func(c []string) string {
	return func(c []string) string {
		suspended, deleted := c[0], c[1]
		switch {
		case deleted == "1" && o.AllowDeletes:
			return "deleted"
		case suspended == "1" && o.AllowSuspends:
			return "suspended"
		case suspended == "0" && o.AllowSuspends:
			return "active"
		}
		return ""
	}
}

// moodleEnrollments reads courseN and the columns numbered with it as an
// enrollment of the row's user: courseN is the course's SIS id (Moodle's
// course shortname, which a feed that made the courses used as their
// ids), roleN Moodle's role, enrolstatusN 1 an inactive enrollment,
// enroltimestartN and enrolperiodN (days) its dates.
func moodleEnrollments(n string) view {
	return view{typ: byName[typeEnrollments], only: "course" + n,
		columns: map[string]string{"course_id": "course" + n, "user_id": "idnumber", "user_login_id": "username"},
		derived: map[string]derived{
			"role":       {from: []string{"role" + n}, value: func(c []string) string { return moodleRole(c[0]) }},
			"status":     {from: []string{"enrolstatus" + n}, value: moodleEnrolStatus},
			"start_date": {from: []string{"enroltimestart" + n}, value: func(c []string) string { return c[0] }},
			"end_date":   {from: []string{"enrolperiod" + n, "enroltimestart" + n}, value: moodleEnrolEnd},
		}}
}

// moodleRole is the role of Moodle's role shortname: an editing teacher
// is a teacher, a (non-editing) teacher a TA; no role is Moodle's default,
// student. Any other name is looked up as the root account's role of
// that name.
func moodleRole(role string) string {
	switch strings.ToLower(role) {
	case "", "student":
		return "student"
	case "editingteacher":
		return "teacher"
	case "teacher":
		return "ta"
	}
	return role
}

// moodleEnrolStatus is the enrollment status of Moodle's enrolstatusN: 1
// is suspended, an inactive enrollment; anything else active.
func moodleEnrolStatus(c []string) string {
	if c[0] == "1" {
		return "inactive"
	}
	return "active"
}

// moodleEnrolEnd is the end of an enrollment of enrolperiodN days from
// its start; without a start or a period none (docs/formats-moodle.md),
// and a period that is not a whole number of days is passed on for the
// date check to refuse.
func moodleEnrolEnd(c []string) string {
	period, start := c[0], c[1]
	if period == "" || period == "0" || start == "" {
		return "" // Moodle counts from the day of the upload: the enrollment is left open
	}
	days, err := strconv.Atoi(period)
	t, ok := ParseDate(start)
	if err != nil || !ok {
		return period
	}
	return t.AddDate(0, 0, days).Format(time.RFC3339)
}
