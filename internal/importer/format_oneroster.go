package importer

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/sisimport/sisimport/internal/csvread"
)

// OneRoster 1.1 and 1.2 CSV packages (docs/formats-oneroster.md): a zip
// whose manifest.csv says, for each file of the binding, whether it is the
// whole set of its type (bulk), changes (delta) or not there (absent). The
// package is read as one: the manifest first, then 1.2's roles.csv, which
// gives users their roles and home orgs, then each file through its views
// onto the canonical types.

// importTypeOneRoster is the format's import_type.
const importTypeOneRoster = "oneroster_csv"

func init() {
	registerFormat(&format{name: importTypeOneRoster, views: func(string, header) []view { return nil }, pack: openOneRoster})
}

// manifestName is the package's control file.
const manifestName = "manifest.csv"

// oneRosterFiles are the binding's files this version reads, by their
// manifest property (file.<name>), each with the types it is read as.
var oneRosterFiles = map[string]bool{
	"orgs": true, "academicSessions": true, "classes": true, "users": true, "enrollments": true, "roles": true,
}

// oneRosterUnread says why a file of the binding this version does not
// read is acknowledged and skipped.
func oneRosterUnread(name string) string {
	switch name {
	case "courses":
		return "OneRoster courses are not kept: each class is a course and its section of its own; the file was not read"
	case "demographics":
		return "demographics are personal data the directory does not keep: the file was not read and nothing of it was stored"
	}
	return "OneRoster " + name + " files are not imported by sisimport; the file was skipped"
}

// orPackage is one upload read as a OneRoster package.
type orPackage struct {
	at    *attempt
	modes map[string]string   // file.<name> → bulk, delta or absent
	roles map[string]userRole // roles.csv: each user's role and org
	// names maps each read file's name in the upload to its binding name.
	names map[string]string
	files []source // the files read, in the upload's order
}

// userRole is a user's role, and the org it holds it at, as roles.csv says.
type userRole struct{ role, org string }

// openOneRoster reads an upload as a OneRoster package: a zip with
// manifest.csv, whose header is propertyName,value. Without one the files
// are not OneRoster's, unless import_type says they are: then the upload
// is refused.
func openOneRoster(at *attempt, files []source) (*pack, bool, error) {
	explicit := at.opts.ImportType == importTypeOneRoster
	var manifest *source
	for i, f := range files {
		if strings.EqualFold(path.Base(f.name), manifestName) {
			manifest = &files[i]
			break
		}
	}
	if manifest == nil {
		if !explicit {
			return nil, false, nil
		}
		return nil, false, &fileError{Code: "invalid_package", Message: "a OneRoster package is a zip with manifest.csv, and this upload has none: nothing was imported"}
	}
	p := &orPackage{at: at, modes: map[string]string{}, roles: map[string]userRole{}, names: map[string]string{}}
	ok, err := p.readManifest(*manifest, explicit)
	if !ok || err != nil {
		return nil, ok, err
	}
	byName := map[string]source{}
	for _, f := range files {
		if f.name != manifest.name {
			byName[strings.ToLower(path.Base(f.name))] = f
		}
	}
	for _, name := range sortedKeys(p.modes) {
		if _, there := byName[strings.ToLower(name)+".csv"]; !there && p.modes[name] != "absent" {
			return nil, true, &fileError{Code: "invalid_package", Message: fmt.Sprintf("manifest.csv says file.%s is %s, but the package has no %s.csv: nothing was imported", name, p.modes[name], name)}
		}
	}
	var read []source
	for _, f := range files {
		if f.name == manifest.name {
			continue
		}
		name, mode := p.bindingName(f.name)
		switch {
		case name == "":
			at.total.note(f.name, "not a file of the OneRoster CSV binding: the file was skipped")
		case mode == "" || mode == "absent":
			at.total.note(f.name, fmt.Sprintf("manifest.csv does not list file.%s as bulk or delta: the file was skipped", name))
		case !oneRosterFiles[name]:
			at.total.note(f.name, oneRosterUnread(name))
		case name == "roles":
			if err := p.readRoles(f); err != nil {
				return nil, true, err
			}
		default:
			p.names[f.name] = name
			read = append(read, f)
		}
	}
	p.bulkUsers()
	p.files = read
	return &pack{files: read, views: p.views, finish: p.finish, listEnrollments: p.modes["enrollments"] == "bulk"}, true, nil
}

// readManifest reads manifest.csv. A file whose header is not
// propertyName,value is no OneRoster manifest: the upload is not a package
// unless import_type says it is, when it is refused.
func (p *orPackage) readManifest(src source, explicit bool) (bool, error) {
	rd, head, cols, err := p.at.openCSV(src, false)
	if err != nil {
		var fe *fileError
		switch {
		case !errors.As(err, &fe):
			return false, err
		case explicit:
			return true, &fileError{Code: fe.Code, Message: "manifest.csv: " + fe.Message}
		}
		return false, nil // not a package: read as Canvas's, the file fails itself
	}
	defer rd.close()
	name, okName := cols["propertyname"]
	value, okValue := cols["value"]
	if !okName || !okValue {
		if !explicit {
			return false, nil
		}
		return true, &fileError{Code: "invalid_package", Message: fmt.Sprintf("manifest.csv line %d: a OneRoster manifest's header is propertyName,value", head.Line)}
	}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *csvread.RowError
		if errors.As(err, &rowErr) {
			return true, &fileError{Code: "malformed_csv", Message: fmt.Sprintf("manifest.csv line %d: %s", rowErr.Line, rowErr.Msg)}
		} else if err != nil {
			return true, csvFileError(err)
		}
		prop, val := cell(rec.Fields, name), strings.ToLower(cell(rec.Fields, value))
		file, isFile := strings.CutPrefix(prop, "file.")
		if !isFile {
			continue
		}
		switch val {
		case "bulk", "delta", "absent":
		case "":
			val = "absent" // as a file the manifest does not list
		default:
			return true, &fileError{Code: "invalid_package", Message: fmt.Sprintf("manifest.csv line %d: %s is %q: it must be bulk, delta or absent; nothing was imported", rec.Line, prop, val)}
		}
		p.modes[file] = val
	}
	return true, nil
}

// bindingName is the binding's name of an upload's file (users for
// users.csv) and the mode the manifest gives it; "" for a file of no name
// of the binding's.
func (p *orPackage) bindingName(file string) (string, string) {
	base := strings.ToLower(strings.TrimSuffix(path.Base(file), path.Ext(file)))
	for name, mode := range p.modes {
		if strings.ToLower(name) == base {
			return name, mode
		}
	}
	for _, name := range oneRosterKnown {
		if strings.ToLower(name) == base {
			return name, ""
		}
	}
	return "", ""
}

// oneRosterKnown are the files of the 1.1 and 1.2 bindings.
var oneRosterKnown = []string{"academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
	"demographics", "enrollments", "lineItems", "lineItemLearningObjectiveIds", "lineItemScoreScales", "orgs", "resources",
	"results", "resultLearningObjectiveIds", "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources", "users"}

// readRoles reads 1.2's roles.csv for the users file: each user's primary
// role and its org (else the user's first role). The file's rows are not
// applied by themselves, which a warning says.
func (p *orPackage) readRoles(src source) error {
	at := p.at
	rd, head, cols, err := at.openCSV(src, true)
	if err != nil {
		return err
	}
	defer rd.close()
	need := []string{"usersourcedid", "role"}
	for _, c := range need {
		if _, ok := cols[c]; !ok {
			return &fileError{Code: "missing_column", Message: fmt.Sprintf("%s line %d: a OneRoster roles file needs the column %s", src.name, head.Line, c)}
		}
	}
	user, role, org, typ, status := cols["usersourcedid"], cols["role"], pos(cols, "orgsourcedid"), pos(cols, "roletype"), pos(cols, "status")
	primary := map[string]bool{}
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *csvread.RowError
		if errors.As(err, &rowErr) {
			at.total.note(src.name, fmt.Sprintf("line %d: the row cannot be read (%s): its role was not read", rowErr.Line, rowErr.Msg))
			continue
		} else if err != nil {
			return csvFileError(err)
		}
		u := cell(rec.Fields, user)
		if u == "" || strings.EqualFold(cell(rec.Fields, status), "tobedeleted") || primary[u] {
			continue
		}
		isPrimary := strings.EqualFold(cell(rec.Fields, typ), "primary")
		if _, seen := p.roles[u]; seen && !isPrimary {
			continue
		}
		p.roles[u] = userRole{role: strings.ToLower(cell(rec.Fields, role)), org: cell(rec.Fields, org)}
		primary[u] = isPrimary
	}
	at.total.note(src.name, "read for the users' roles (declared_user_type, observer links) and home accounts; a role is not stored by itself")
	return nil
}

// pos is the place of column c in the header, -1 without it.
func pos(cols map[string]int, c string) int {
	if p, ok := cols[c]; ok {
		return p
	}
	return -1
}

// sortedKeys are m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
