package importer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Templates are the values of default[<column>] (docs/import-rules.md#user-options, Moodle's): %f
// first name, %l last name, %u login id, %% a percent sign; between % and the
// letter, - lower-cases, + upper-cases, ~ title-cases, and a number keeps
// that many characters. "%-1f%-l" for John Doe is "jdoe".

// checkTemplate reports the first malformed placeholder of t.
func checkTemplate(t string) error {
	_, err := expand(t, "", "", "")
	return err
}

// expand fills the template from a row's names and login id.
func expand(t, first, last, login string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		start := i
		i++
		caseMode := byte(0)
		if i < len(t) && (t[i] == '-' || t[i] == '+' || t[i] == '~') {
			caseMode = t[i]
			i++
		}
		n := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' && n < 10000 {
			n = n*10 + int(t[i]-'0')
			i++
		}
		if i >= len(t) {
			return "", fmt.Errorf("%q at position %d: a placeholder needs a letter (%%f, %%l, %%u or %%%%)", t[start:], start+1)
		}
		var v string
		switch t[i] {
		case 'f':
			v = first
		case 'l':
			v = last
		case 'u':
			v = login
		case '%':
			if caseMode != 0 || n != 0 {
				return "", fmt.Errorf("%q at position %d: %%%% takes no modifier", t[start:i+1], start+1)
			}
			b.WriteByte('%')
			continue
		default:
			return "", fmt.Errorf("%q at position %d: unknown placeholder (use %%f, %%l, %%u or %%%%)", t[start:i+1], start+1)
		}
		switch caseMode {
		case '-':
			v = strings.ToLower(v)
		case '+':
			v = strings.ToUpper(v)
		case '~':
			v = titleCase(v)
		}
		if n > 0 && utf8.RuneCountInString(v) > n {
			v = string([]rune(v)[:n])
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func titleCase(s string) string {
	out := []rune(strings.ToLower(s))
	start := true
	for i, r := range out {
		if start && unicode.IsLetter(r) {
			out[i] = unicode.ToUpper(r)
		}
		start = !unicode.IsLetter(r)
	}
	return string(out)
}

// standardizeLogin lower-cases a login id and drops every character outside
// [-.@_a-z0-9] (standardize_login_ids).
func standardizeLogin(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.', r == '@', r == '_':
			return r
		}
		return -1
	}, s)
}
