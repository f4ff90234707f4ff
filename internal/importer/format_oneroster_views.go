package importer

import (
	"cmp"
	"slices"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// The views of a OneRoster package's files onto the canonical types
// (docs/formats-oneroster.md#mapping). Header names come lower-cased
// (csvread.Columns), so the views name the binding's columns so.

// views says how the package reads one of its files; the first view also
// reads dateLastModified, which the package keeps itself (modified.go).
func (p *orPackage) views(file string, h header) []view {
	vs := p.typeViews(file, h)
	if len(vs) > 0 && h.has(modifiedColumn) && modifiedTargets[p.names[file]] != nil {
		vs[0].alsoReads = []string{modifiedColumn}
	}
	return vs
}

// typeViews are the views of a file onto the canonical types.
func (p *orPackage) typeViews(file string, h header) []view {
	switch p.names[file] {
	case "orgs":
		return []view{{typ: byName[typeAccounts], columns: map[string]string{"account_id": "sourcedid", "parent_account_id": "parentsourcedid"},
			derived: map[string]derived{"status": orStatus("deleted")}}}
	case "academicSessions":
		return []view{{typ: byName[typeTerms], columns: map[string]string{"term_id": "sourcedid", "name": "title", "start_date": "startdate", "end_date": "enddate"},
			derived: map[string]derived{"status": orStatus("deleted")}}}
	case "classes":
		return p.classViews(file)
	case "users":
		return p.userViews(file, h)
	case "enrollments":
		return []view{{typ: byName[typeEnrollments], columns: map[string]string{"section_id": "classsourcedid", "user_id": "usersourcedid",
			"start_date": "begindate", "end_date": "enddate"},
			derived: map[string]derived{"status": orStatus("deleted"), "role": {from: []string{"role"}, value: func(c []string) string { return enrollmentRole(c[0]) }}}}}
	}
	return nil
}

// orStatus reads the binding's status: active, or blank (a bulk file's
// rows may leave it so), is active; tobedeleted is deleted; anything
// else is left for the type's rule to refuse, naming the column.
func orStatus(deleted string) derived {
	return derived{from: []string{"status"}, value: func(c []string) string {
		switch strings.ToLower(c[0]) {
		case "", "active":
			return "active"
		case "tobedeleted":
			return deleted
		}
		return c[0]
	}}
}

// enrollmentRole is the course role of a OneRoster enrollment role; a role
// with none is left for the enrollments rule to refuse.
func enrollmentRole(role string) string {
	switch r := strings.ToLower(role); r {
	case "student", "teacher":
		return r
	case "administrator":
		return "teacher" // who administers a class manages it, as its teacher does
	case "aide", "proctor":
		return "ta"
	case "guardian", "parent", "relative":
		return "observer"
	}
	return role
}

// declaredType is the user type a OneRoster role declares.
func declaredType(role string) string {
	switch strings.ToLower(role) {
	case "student":
		return "student"
	case "teacher":
		return "teacher"
	case "guardian", "parent", "relative":
		return "observer"
	case "administrator", "siteadministrator", "districtadministrator", "systemadministrator", "principal":
		return "administrative"
	case "aide", "proctor", "counselor":
		return "staff"
	}
	return ""
}

// observes: a student's agents are their parents, guardians and
// relatives, who observe them; a parent's, guardian's or relative's
// agents are their students.
func observes(role string) (student, parent bool) {
	switch strings.ToLower(role) {
	case "student":
		return true, false
	case "guardian", "parent", "relative":
		return false, true
	}
	return false, false
}

// classViews read a class as a course and its section, both with the
// class's sourcedId: the class's title, code, school and term make the
// course, and its enrollments go to the section.
func (p *orPackage) classViews(file string) []view {
	several := p.onceWarning(file, "a class in several terms (termSourcedIds) is put in the first of them")
	course := view{typ: byName[typeCourses], columns: map[string]string{"course_id": "sourcedid", "long_name": "title", "account_id": "schoolsourcedid"},
		derived: map[string]derived{
			"status":     orStatus("deleted"),
			"short_name": {from: []string{"classcode", "title"}, value: func(c []string) string { return cmp.Or(c[0], c[1]) }},
			"term_id": {from: []string{"termsourcedids"}, value: func(c []string) string {
				terms := splitList(c[0])
				if len(terms) > 1 {
					several()
				}
				if len(terms) == 0 {
					return ""
				}
				return terms[0]
			}},
		}}
	section := view{typ: byName[typeSections], columns: map[string]string{"section_id": "sourcedid", "name": "title"},
		derived: map[string]derived{"status": orStatus("deleted"), "course_id": {from: []string{"sourcedid"}, value: func(c []string) string { return c[0] }}}}
	return []view{course, section}
}

// userViews read users.csv as users, and its agentSourcedIds as observer
// links between students and their parents, guardians or relatives.
func (p *orPackage) userViews(file string, h header) []view {
	role := func(c []string) string { // c: the user's sourcedId, then 1.1's role
		if r, ok := p.roles[c[0]]; ok {
			return r.role
		}
		return c[1]
	}
	users := view{typ: byName[typeUsers], columns: map[string]string{"user_id": "sourcedid", "login_id": "username", "first_name": "givenname",
		"last_name": "familyname", "integration_id": "identifier"},
		derived: map[string]derived{
			"status": {from: []string{"status", "enableduser"}, value: func(c []string) string {
				switch s := strings.ToLower(c[0]); {
				case s == "tobedeleted":
					return "deleted"
				case s != "" && s != "active":
					return c[0]
				case strings.EqualFold(c[1], "false"):
					return "suspended"
				}
				return "active"
			}},
			// 1.2's preferred names, under the binding's name or the
			// misspelling some exports use, make the display name.
			"short_name": {from: []string{"preferredgivenname", "prefferedgivenname", "preferredfamilyname", "prefferedfamilyname", "givenname", "familyname"},
				value: func(c []string) string {
					given, family := cmp.Or(c[0], c[1]), cmp.Or(c[2], c[3])
					if given == "" && family == "" {
						return ""
					}
					return strings.TrimSpace(cmp.Or(given, c[4]) + " " + cmp.Or(family, c[5]))
				}},
		}}
	if p.hasAny(h, "primaryorgsourcedid", "orgsourcedids") || len(p.roles) > 0 {
		users.derived["account_id"] = derived{from: []string{"primaryorgsourcedid", "orgsourcedids", "sourcedid"}, value: func(c []string) string {
			if c[0] != "" {
				return c[0]
			}
			if orgs := splitList(c[1]); len(orgs) > 0 {
				return orgs[0]
			}
			return p.roles[c[2]].org
		}}
	}
	if h.has("role") || len(p.roles) > 0 {
		users.derived["declared_user_type"] = derived{from: []string{"role", "sourcedid"}, value: func(c []string) string {
			return declaredType(role([]string{c[1], c[0]}))
		}}
	}
	agents := "agentsourcedids"
	if !h.has(agents) && h.has("agents") { // OneRoster 1.0's name
		agents = "agents"
	}
	if !h.has(agents) {
		return []view{users}
	}
	views := []view{users}
	// An observers row is made for each agent of a student or a parent
	// (expand): the user's cell then holds that one agent.
	at, self, roleAt, statusAt := pos(h.cols, agents), pos(h.cols, "sourcedid"), pos(h.cols, "role"), pos(h.cols, "status")
	linked := map[string]bool{} // student, then observer
	neither := p.onceWarning(file, "agentSourcedIds of users who are neither students nor parents, guardians or relatives are not linked")
	link := func(observer bool) func(c []string) string { // c: the agent, the user, 1.1's role
		return func(c []string) string {
			if _, parent := observes(role(c[1:])); parent == observer {
				return c[1]
			}
			return c[0]
		}
	}
	views = append(views, view{typ: byName[typeUserObservers],
		derived: map[string]derived{
			"observer_id": {from: []string{agents, "sourcedid", "role"}, value: link(true)},
			"student_id":  {from: []string{agents, "sourcedid", "role"}, value: link(false)},
			"status":      orStatus("deleted"),
		},
		expand: func(rec csvread.Record) []csvread.Record {
			if at >= len(rec.Fields) || self >= len(rec.Fields) {
				return []csvread.Record{rec} // its width fails it
			}
			list := splitList(cell(rec.Fields, at))
			if len(list) == 0 || strings.EqualFold(cell(rec.Fields, statusAt), "tobedeleted") {
				return nil // a user deleted keeps no links to make
			}
			student, parent := observes(role([]string{cell(rec.Fields, self), cell(rec.Fields, roleAt)}))
			if !student && !parent {
				neither()
				return nil
			}
			out := make([]csvread.Record, 0, len(list))
			for _, a := range list {
				// A link both its users list is read once, where it comes first.
				key := cell(rec.Fields, self) + "\x00" + a
				if parent {
					key = a + "\x00" + cell(rec.Fields, self)
				}
				if linked[key] {
					continue
				}
				linked[key] = true
				fields := slices.Clone(rec.Fields)
				fields[at] = a
				out = append(out, csvread.Record{Line: rec.Line, Fields: fields})
			}
			return out
		}})
	return views
}

// hasAny says whether the header has any of cs.
func (p *orPackage) hasAny(h header, cs ...string) bool {
	return slices.ContainsFunc(cs, h.has)
}

// onceWarning returns a function that warns about file once, however often
// it is called.
func (p *orPackage) onceWarning(file, msg string) func() {
	warned := false
	return func() {
		if !warned {
			warned = true
			p.at.warn(file, msg)
		}
	}
}

// splitList splits a OneRoster list cell: values between commas, trimmed,
// the empty ones left out.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
