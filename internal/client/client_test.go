package client

import "testing"

func TestNextLink(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]string{
		"": "",
		`</api/v1/accounts/1/sis_imports/2/results?page=0>; rel="current", </api/v1/accounts/1/sis_imports/2/results?page=9>; rel="next", </api/v1/x?page=0>; rel="first"`: "/api/v1/accounts/1/sis_imports/2/results?page=9",
		`</a?page=1>; rel="current", </a?page=1>; rel="first"`: "",
	} {
		if got := NextLink(h); got != want {
			t.Errorf("NextLink(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestNewChecksTheAddress(t *testing.T) {
	t.Parallel()
	for base, ok := range map[string]bool{
		"http://localhost:8080":         true,
		"https://sis.example.edu/":      true,
		"http://localhost:8080/api/v1/": true,
		"localhost:8080":                false,
		"ftp://host":                    false,
		"":                              false,
	} {
		c, err := New(base, "sis_x")
		if (err == nil) != ok {
			t.Errorf("New(%q): %v", base, err)
		}
		if err == nil && c.URL("/api/v1/x") != c.base.Scheme+"://"+c.base.Host+"/api/v1/x" {
			t.Errorf("New(%q): URL gives %s", base, c.URL("/api/v1/x"))
		}
	}
	if _, err := New("http://localhost:8080", ""); err == nil {
		t.Error("a client without a token")
	}
}
