package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sisimport/sisimport/internal/auth"
	"github.com/sisimport/sisimport/internal/pgtest"
)

// The console in real Chromium (docs/console.md#browser-tests). Without
// Chromium the tests skip, saying how to install it; under CI=true a
// missing Chromium fails. SISIMPORT_SCREENSHOTS=1 (make screenshots)
// writes a PNG of each page into docs/console/.

// browser starts headless Chromium for one test.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("the console's browser tests need Chromium, which CI installs (.ci/run): apt-get install -y chromium")
		}
		t.Skip("browser tests skipped: Chromium is not installed; apt-get install -y chromium, then go test ./cmd/sisimport -run TestConsole")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// steps runs browser actions and fails the test on an error.
func steps(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// screenshot writes the page into docs/console/ when asked to.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("SISIMPORT_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "console", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signIn signs the browser in with a token.
func signIn(t *testing.T, ctx context.Context, base, token string, shot bool) {
	t.Helper()
	steps(t, ctx, "open sign in", chromedp.Navigate(base+"/console/signin"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if shot {
		screenshot(t, ctx, "signin")
	}
	steps(t, ctx, "sign in", chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS("form.who")))
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/console/imports") {
		t.Fatalf("after sign in: at %s", loc)
	}
}

// text reads the text of the first element sel matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// location is the page's URL.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// eval evaluates JavaScript in the page (a promise is awaited).
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

const xss = `<img src=x onerror=alert(1)>`

// consoleUsers has two good rows, one that fails (no login) and one whose
// SIS id is markup.
const consoleUsers = "user_id,login_id,first_name,last_name,email,status\n" +
	"S0001,jdoe,Jane,Doe,jane@example.edu,active\n" +
	"S0002,rroe,Rick,Roe,rick@example.edu,active\n" +
	"S0003,,No,Login,none@example.edu,active\n" +
	"\"" + xss + "\",xss,Mal,Lory,mal@example.edu,active\n"

func TestConsoleImportDryRunApplyRestore(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	s := startService(t, nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(file, []byte(consoleUsers), 0o644); err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, s.base, s.token, true)
	screenshotEmpty := text(t, ctx, "main")
	if !strings.Contains(screenshotEmpty, "No imports") {
		t.Fatalf("a new account's imports page: %q", screenshotEmpty)
	}

	// Upload with a dry run (checked by default); the page follows the
	// import live and reloads itself when it ends.
	steps(t, ctx, "open new import", chromedp.Navigate(s.base+"/console/imports/new"), chromedp.WaitVisible(chromedp.CSS("#attachment")))
	screenshot(t, ctx, "new-import")
	steps(t, ctx, "upload", chromedp.SetUploadFiles(chromedp.CSS("#attachment"), []string{file}),
		chromedp.Click(chromedp.CSS(`form.upload button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#results")))
	if st := text(t, ctx, "[data-state]"); st != "imported with messages" {
		t.Fatalf("dry run ended %q", st)
	}
	var users int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE sis_user_id IS NOT NULL`).Scan(&users); err != nil || users != 0 {
		t.Fatalf("a dry run left %d users (%v)", users, err)
	}

	// A cell of the file is text: the markup shows as it is, no element.
	imgs := eval[int](t, ctx, `document.querySelectorAll("main img").length`)
	if imgs != 0 || !strings.Contains(text(t, ctx, "table.results"), xss) {
		t.Fatalf("the SIS id %s: %d img elements; table %q", xss, imgs, text(t, ctx, "table.results"))
	}

	// Filters: only the failed row.
	steps(t, ctx, "filter failed", chromedp.SetValue(chromedp.CSS(`select[name=action]`), "failed"),
		chromedp.Submit(chromedp.CSS(`select[name=action]`)))
	waitFor(t, "the filtered results", func() bool {
		return eval[bool](t, ctx, `document.location.search.includes("action=failed") && document.readyState === "complete"`)
	})
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll("table.results tbody tr")].map(r => r.innerText)`)
	if len(rows) != 1 || !strings.Contains(rows[0], "S0003") || !strings.Contains(rows[0], "failed") {
		t.Fatalf("results filtered on failed: %q", rows)
	}
	screenshot(t, ctx, "import-results")

	// Both downloads, as the browser gets them.
	var all, failed string
	all = eval[string](t, ctx, `fetch(document.querySelector("a[href$='/download/results']").href).then(r => r.text())`)
	failed = eval[string](t, ctx, `fetch(document.querySelector("a[href$='/download/failed']").href).then(r => r.text())`)
	if !strings.HasPrefix(all, "sis_import_id,file,row,entity,sis_id") || strings.Count(all, "\n") != 5 {
		t.Fatalf("results CSV:\n%s", all)
	}
	if !strings.HasPrefix(failed, "user_id,login_id,first_name,last_name,email,status,sis_import_error\n") || !strings.Contains(failed, "S0003,,No,Login") {
		t.Fatalf("failed rows CSV:\n%s", failed)
	}

	// Apply this file: the same file, for real.
	dryURL := location(t, ctx)
	steps(t, ctx, "apply", chromedp.Click(chromedp.CSS(`form[action$="/apply"] button`)))
	waitFor(t, "the applied import to end", func() bool {
		return eval[bool](t, ctx, `!!document.querySelector("#results") && !document.querySelector(".tag") && (document.querySelector("[data-state]") || {textContent: ""}).textContent == "imported with messages"`)
	})
	applied := location(t, ctx)
	if applied == dryURL {
		t.Fatalf("after Apply: still at %s", applied)
	}
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE sis_user_id IN ('S0001', 'S0002') AND workflow_state = 'active'`).Scan(&users); err != nil || users != 2 {
		t.Fatalf("Apply made %d of the 2 users (%v)", users, err)
	}

	// Restore, after its confirmation, followed to its end.
	steps(t, ctx, "restore", chromedp.Click(chromedp.CSS(`a[href$="/restore"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/restore"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/restore"] button`)))
	steps(t, ctx, "restored", chromedp.WaitVisible(chromedp.CSS("#results")))
	if st := text(t, ctx, "[data-state]"); st != "restored" {
		t.Fatalf("after Restore: %q", st)
	}
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE sis_user_id IN ('S0001', 'S0002') AND workflow_state = 'active'`).Scan(&users); err != nil || users != 0 {
		t.Fatalf("after Restore, %d of the users are still active (%v)", users, err)
	}

	// What happened to this student: found by login, every change linked to its row.
	steps(t, ctx, "find", chromedp.Navigate(s.base+"/console/people?q=jdoe"), chromedp.Click(chromedp.CSS(`table.list a`)),
		chromedp.WaitVisible(chromedp.CSS(`dl.facts`)))
	screenshot(t, ctx, "student")
	links := eval[[]string](t, ctx, `[...document.querySelectorAll("main table.list a")].map(a => a.getAttribute("href"))`)
	if len(links) < 2 {
		t.Fatalf("history of jdoe: %q", links)
	}
	if !strings.Contains(eval[string](t, ctx, `document.querySelector("main table.list").innerText`), "restore of #") {
		t.Errorf("jdoe's history does not show the restore that deleted them")
	}
	steps(t, ctx, "follow", chromedp.Click(chromedp.CSS(`main table.list a[href*="#r"]`)), chromedp.WaitVisible(chromedp.CSS("#results")))
	target := eval[string](t, ctx, `document.querySelector("tr:target") ? document.querySelector("tr:target").innerText : ""`)
	if !strings.Contains(target, "S0001") {
		t.Fatalf("the history's link %s lands on %q", links[0], target)
	}

	// Sign out: the session is gone.
	steps(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form.who button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	if n := text(t, ctx, ".notice"); n != "You are signed out." {
		t.Fatalf("after sign out: %q", n)
	}
	steps(t, ctx, "imports once out", chromedp.Navigate(s.base+"/console/imports"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/console/signin") {
		t.Fatalf("signed out, /console/imports shows %s", loc)
	}
	var sessions int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM console_sessions`).Scan(&sessions); err != nil || sessions != 0 {
		t.Fatalf("%d sessions left after sign out (%v)", sessions, err)
	}
}

func TestConsoleHeldImportApproved(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	s := startService(t, nil)
	var b strings.Builder
	b.WriteString("user_id,login_id,first_name,last_name,status\n")
	for n := 1; n <= 12; n++ {
		fmt.Fprintf(&b, "H%02d,h%02d,Held,Person%02d,active\n", n, n, n)
	}
	s.importCSV("", b.String())
	held := s.upload("1", "remove_unlisted_users=true&change_threshold_action=hold", "user_id,login_id,first_name,last_name,status\nH01,h01,Held,Person01,active\n")
	if i := s.wait("1", held.ID); i.WorkflowState != "awaiting_approval" {
		t.Fatalf("the import that removes 11 of 12 users ended %s", i.WorkflowState)
	}
	signIn(t, ctx, s.base, s.token, false)
	if st := text(t, ctx, "tr.row-held .badge"); st != "waiting for approval" {
		t.Fatalf("the held import on the imports page: %q", st)
	}
	screenshot(t, ctx, "imports")
	steps(t, ctx, "open held", chromedp.Click(chromedp.CSS(`tr.row-held a`)), chromedp.WaitVisible(chromedp.CSS(".held-card")))
	if plan := text(t, ctx, ".held-card"); !strings.Contains(plan, "11") || !strings.Contains(plan, "H12") {
		t.Fatalf("the held import's plan: %q", plan)
	}
	screenshot(t, ctx, "held-import")
	steps(t, ctx, "approve", chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)))
	waitFor(t, "the approved import to end", func() bool {
		return eval[bool](t, ctx, `!!document.querySelector("#results") && (document.querySelector("[data-state]") || {textContent: ""}).textContent.startsWith("imported")`)
	})
	var removed int
	if err := s.db.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE sis_user_id LIKE 'H%' AND workflow_state <> 'active'`).Scan(&removed); err != nil || removed != 11 {
		t.Fatalf("approved, %d users were removed (%v)", removed, err)
	}
}

func TestConsoleReadOnlyCrossSiteAndHeaders(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	s := startService(t, nil)
	done := s.importCSV("", "user_id,login_id,first_name,last_name,status\nR1,r1,Read,Only,active\n")
	queued := s.upload("1", "", "user_id,login_id,first_name,last_name,status\nR2,r2,Read,Two,active\n")
	_ = queued

	// The headers of every page. The console is no part of the API's
	// contract: a transport of its own, not the checked default.
	plain := &http.Client{Transport: &http.Transport{}}
	resp, err := plain.Get(s.base + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") ||
		strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers: %v", resp.Header)
	}

	// A read_only token looks, and cannot change anything.
	signIn(t, ctx, s.base, s.newToken(1, auth.ReadOnly), false)
	steps(t, ctx, "new import", chromedp.Navigate(s.base+"/console/imports/new"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	forms := eval[int](t, ctx, `document.querySelectorAll("form.upload").length`)
	if forms != 0 || !strings.Contains(text(t, ctx, "main"), "read only") {
		t.Fatalf("a read_only token's new import page: %d forms, %q", forms, text(t, ctx, "main"))
	}
	steps(t, ctx, "import", chromedp.Navigate(fmt.Sprintf("%s/console/imports/%d", s.base, done.ID)), chromedp.WaitVisible(chromedp.CSS("#results")))
	buttons := eval[[]string](t, ctx, `[...document.querySelectorAll("main form button, main a.button")].map(b => b.innerText)`)
	for _, b := range buttons {
		if b != "Filter" && !strings.HasPrefix(b, "Download") {
			t.Fatalf("a read_only token sees the button %q", b)
		}
	}
	// Sent anyway, with the session's own CSRF token, the API's role check refuses it.
	status := eval[int](t, ctx, fmt.Sprintf(`fetch("/console/imports/%d/restore", {method: "POST", body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value})}).then(r => r.status)`, done.ID))
	if status != http.StatusForbidden {
		t.Fatalf("a read_only restore: %d", status)
	}

	// A POST of another site's form: the browser sends the session's cookie
	// (as one of the same site would) but no CSRF token of the session.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Transport: &http.Transport{}, Jar: jar}
	page, err := client.Get(s.base + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	nonce := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if nonce == nil {
		t.Fatalf("no CSRF field on the sign in page: %s", body)
	}
	if resp, err = client.PostForm(s.base+"/console/signin", url.Values{"csrf": {string(nonce[1])}, "token": {s.token}}); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = client.PostForm(fmt.Sprintf("%s/console/imports/%d/abort", s.base, queued.ID), url.Values{"csrf": {"guess"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "did not come from a page of this console") {
		t.Fatalf("a cross-site POST: %d %s", resp.StatusCode, body)
	}
	if i := s.wait("1", queued.ID); i.WorkflowState == "aborted" {
		t.Fatal("a cross-site POST aborted the import")
	}

	// The same in the browser, signed in as an admin: a page of another
	// origin (127.0.0.1 on another port, the same site, so the browser
	// sends the session's cookie) posts its form to the console.
	signIn(t, ctx, s.base, s.token, false)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/console/imports/%d/restore">`+
			`<input type="hidden" name="csrf" value="guess"><button id="go">Win a prize</button></form>`, s.base, done.ID)
	}))
	defer evil.Close()
	steps(t, ctx, "another site's page", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#go")),
		chromedp.Click(chromedp.CSS("#go")))
	for deadline := time.Now().Add(10 * time.Second); !strings.HasPrefix(location(t, ctx), s.base); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the other site's form did not reach the console: at %s", location(t, ctx))
		}
	}
	steps(t, ctx, "the console's answer", chromedp.WaitVisible(chromedp.CSS("body")))
	if got := text(t, ctx, "body"); !strings.Contains(got, "did not come from a page of this console") {
		t.Fatalf("the browser's cross-site POST was answered: %q", got)
	}
	var restores int
	pgtest.Must(t, s.db.QueryRow(t.Context(), `SELECT count(*) FROM sis_imports WHERE restore_of = $1`, done.ID).Scan(&restores))
	if restores != 0 {
		t.Fatal("the browser's cross-site POST restored the import")
	}
}
