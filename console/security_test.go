package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

const xss = `<img src=x onerror=alert(1)>`

// TestConsoleEscapesXSS: a reason holding markup is shown as text on
// every page that shows it, nothing runs, and the browser reports no CSP
// violation (while the probe that would report one demonstrably works).
func TestConsoleEscapesXSS(t *testing.T) {
	srv := startServer(t)
	key := srv.key("ops")
	srv.start(key, "mallory", "x-1")
	tb := newTab(t, srv)
	tb.signIn(key)
	tb.open("/console/users?user=mallory")
	tb.do(chromedp.SendKeys(chromedp.ID("reason-x-1"), xss), chromedp.Click(chromedp.ID("revoke-x-1")),
		chromedp.WaitVisible(chromedp.ID("outcome")))
	if got := tb.text("#answer"); !strings.Contains(got, xss) {
		t.Fatalf("the API answer on the page lacks the reason as text: %q", got)
	}
	tb.noMarkup("revoked page")

	tb.open("/console/users/mallory/sessions/x-1")
	if got := tb.text("#timeline .reason"); got != xss {
		t.Fatalf("timeline reason = %q, want %q as text", got, xss)
	}
	tb.noMarkup("story")
	tb.shot("story-xss")

	tb.open("/console/audit?userId=mallory&type=SessionRevoked")
	if got := tb.text("#events .reason"); got != xss {
		t.Fatalf("audit log reason = %q, want %q as text", got, xss)
	}
	tb.noMarkup("audit log")
	tb.open("/console/users?user=mallory")
	tb.noMarkup("users page")

	if v := tb.cspViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %q", v)
	}
	if d := tb.dialogsSeen(); len(d) > 0 {
		t.Fatalf("a script ran: dialogs %q", d)
	}
	// The probe sees a violation when there is one: an inline script.
	tb.do(chromedp.Evaluate[chromedp.Void](`var s = document.createElement("script"); s.textContent = "alert(2)"; document.body.appendChild(s)`))
	waitFor(t, func() error {
		if len(tb.cspViolations()) == 0 {
			return fmt.Errorf("no violation reported for an inline script")
		}
		return nil
	})
	if d := tb.dialogsSeen(); len(d) > 0 {
		t.Fatalf("the inline script ran despite the CSP: %q", d)
	}
}

// noMarkup fails if the page's main part holds an img element (the
// reason's markup made real).
func (tb *tab) noMarkup(where string) {
	tb.t.Helper()
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll("main img, main [onerror]").length`))
	if err != nil {
		tb.t.Fatal(err)
	}
	if n > 0 {
		tb.t.Fatalf("%s: the reason became %d element(s)", where, n)
	}
}

// post sends a form POST from the page (same origin, with its cookies)
// and returns the status.
func (tb *tab) post(path, body string) int {
	tb.t.Helper()
	js := fmt.Sprintf(`fetch(%q, {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: %q, redirect: "manual"}).then(r => r.status)`, path, body)
	st, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatal(err)
	}
	return st
}

// TestConsoleRefusesForgedPosts: a POST without the CSRF token is refused;
// a sessions:read key sees no revoke control and its forged POST, even
// with a valid token, is refused with 403. Nothing is revoked.
func TestConsoleRefusesForgedPosts(t *testing.T) {
	srv := startServer(t)
	ops := srv.key("ops")
	reader := srv.key("reader", "sessions:read")
	srv.start(ops, "alice", "s-1")
	revoke := "/console/users/alice/sessions/s-1/revoke"

	tb := newTab(t, srv)
	tb.signIn(ops)
	tb.open("/console/users?user=alice")
	if st := tb.post(revoke, "reason=no+token"); st != http.StatusForbidden {
		t.Fatalf("POST without a CSRF token = %d, want 403", st)
	}
	if st := tb.post(revoke, "reason=bad+token&csrf=forged"); st != http.StatusForbidden {
		t.Fatalf("POST with a wrong CSRF token = %d, want 403", st)
	}
	if st := tb.post("/console/signout", ""); st != http.StatusForbidden {
		t.Fatalf("sign-out without a CSRF token = %d, want 403", st)
	}

	rd := newTab(t, srv)
	rd.signIn(reader)
	rd.open("/console/users?user=alice")
	rd.shot("users-read-only")
	controls, err := chromedp.Run(rd.ctx, chromedp.Evaluate[int](`document.querySelectorAll("form.revoke, #revoke-all, #revoke-s-1").length`))
	if err != nil {
		t.Fatal(err)
	}
	if controls != 0 {
		t.Fatalf("a sessions:read key sees %d revoke controls", controls)
	}
	if !strings.Contains(rd.text("#sessions"), "s-1") {
		t.Fatal("the reader does not see the session")
	}
	token, err := chromedp.Run(rd.ctx, chromedp.Value(chromedp.CSS(`.who input[name=csrf]`)))
	if err != nil || token == "" {
		t.Fatalf("the reader's CSRF token: %q %v", token, err)
	}
	if st := rd.post(revoke, "reason=forged&csrf="+token); st != http.StatusForbidden {
		t.Fatalf("forged revoke by a sessions:read key = %d, want 403", st)
	}
	if st := rd.post("/console/users/alice/revoke-all", "reason=forged&csrf="+token); st != http.StatusForbidden {
		t.Fatalf("forged revoke-all by a sessions:read key = %d, want 403", st)
	}
	rd.open("/console/audit")
	if got := rd.text("#error"); !strings.Contains(got, "not allowed") || !strings.Contains(got, "audit:read") {
		t.Fatalf("audit log for a sessions:read key says %q; want the refusal in words", got)
	}
	rd.shot("forbidden")

	if st, body := srv.api("GET", "/users/alice/sessions/s-1", ops, ""); !strings.Contains(string(body), `"status":"active"`) {
		t.Fatalf("after forged posts, s-1 = %d %s; want active", st, body)
	}
	if n := srv.count(`type = 'SessionRevoked'`); n != 0 {
		t.Fatalf("%d revocations recorded, want 0", n)
	}
}
