package console

import "github.com/sisimport/sisimport/internal/importer"

// Format is a file format the new-import form offers.
type Format struct {
	Value, Label, Explanation string
}

// formatWords are the names administrators know the formats by; a format
// the importer gains without words here is offered by its own name.
var formatWords = map[string][2]string{
	"instructure_csv": {"Canvas SIS CSV", "Canvas's users.csv, courses.csv, enrollments.csv … alone or several in a zip."},
	"moodle_csv":      {"Moodle user upload CSV", "Moodle's \"Upload users\" file: username, firstname, lastname, email …"},
	"oneroster_csv":   {"OneRoster 1.1 or 1.2 CSV package", "A OneRoster zip: manifest.csv, orgs.csv, users.csv, classes.csv, enrollments.csv …"},
	"benchprep_csv":   {"BenchPrep bulk deactivation", "BenchPrep's template: email, user_id, username, sis_id, institution, remove_from_group."},
}

// Formats are the formats the importer accepts (importer.ImportTypes, the
// one list), each with its words.
func Formats() []Format {
	var out []Format
	for _, t := range importer.ImportTypes() {
		f := Format{Value: t, Label: t}
		if w, ok := formatWords[t]; ok {
			f.Label, f.Explanation = w[0], w[1]
		}
		out = append(out, f)
	}
	return out
}
