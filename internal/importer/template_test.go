package importer

import (
	"strings"
	"testing"
)

func TestExpandTemplates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		tmpl, first, last, login, want, err string
	}{
		{"%-1f%-l", "John", "Doe", "", "jdoe", ""},
		{"%u@school.edu", "", "", "jdoe", "jdoe@school.edu", ""},
		{"%+l, %~f", "maría", "o'neil", "", "O'NEIL, María", ""},
		{"%3l%2f", "Johnathan", "Doeberman", "", "DoeJo", ""},
		{"%-3l%-2f", "Ólafur", "Ásgeirsson", "", "ásgól", ""},
		{"100%% %f", "Ann", "", "", "100% Ann", ""},
		{"%x", "", "", "", "", "unknown placeholder"},
		{"abc%", "", "", "", "", "needs a letter"},
		{"%-%", "", "", "", "", "takes no modifier"},
		{"no placeholders", "A", "B", "c", "no placeholders", ""},
	}
	for _, c := range cases {
		got, err := expand(c.tmpl, c.first, c.last, c.login)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("expand(%q): error %v, want one saying %q", c.tmpl, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("expand(%q, %q, %q, %q) = %q, %v; want %q", c.tmpl, c.first, c.last, c.login, got, err, c.want)
		}
	}
}

func TestStandardizeLogin(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"J.Doe@School.EDU": "j.doe@school.edu", "Ann Marie!": "annmarie", "ø_x-1": "_x-1"} {
		if got := standardizeLogin(in); got != want {
			t.Errorf("standardizeLogin(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"%-1f%-l", "%u@x", "%%", "%~12l", "%", "%-", "%9999999999f"} {
		f.Add(s, "John", "Doe", "jdoe")
	}
	f.Fuzz(func(t *testing.T, tmpl, first, last, login string) {
		out, err := expand(tmpl, first, last, login)
		if err == nil && len(out) > len(tmpl)*(len(first)+len(last)+len(login)+4)+len(tmpl) {
			t.Fatalf("expansion of %q grew to %d bytes", tmpl, len(out))
		}
	})
}
