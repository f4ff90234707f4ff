package main

import (
	"net/http"
	"testing"

	"github.com/sisimport/sisimport/internal/config"
)

// TestConsoleCookiesBehindATLSProxy: a service told that a proxy ends TLS
// for it marks the console's cookies Secure on plain requests; without the
// setting, a plain request's cookie is not (a browser would drop it).
func TestConsoleCookiesBehindATLSProxy(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		s := startService(t, func(c *config.Config) { c.ConsoleSecureCookie = secure })
		plain := &http.Client{Transport: &http.Transport{}} // the console is HTML, outside the API's contract
		resp, err := plain.Get(s.base + "/console/signin")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cookies := resp.Cookies()
		if resp.StatusCode != 200 || len(cookies) == 0 {
			t.Fatalf("GET /console/signin: %d, cookies %v", resp.StatusCode, cookies)
		}
		for _, c := range cookies {
			if c.Secure != secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("SISIMPORT_CONSOLE_SECURE_COOKIE=%v: cookie %s Secure=%v HttpOnly=%v SameSite=%v", secure, c.Name, c.Secure, c.HttpOnly, c.SameSite)
			}
		}
	}
}
