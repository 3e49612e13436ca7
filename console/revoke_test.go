package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestConsoleRevoke: an operator signs in, finds a user, revokes a session
// with a reason; the timeline shows the revocation with actor and reason,
// and the API agrees. Sign-in and sign-out are recorded as events.
func TestConsoleRevoke(t *testing.T) {
	srv := startServer(t)
	key := srv.key("ops")
	srv.start(key, "alice", "s-1")
	srv.start(key, "alice", "s-2")
	tb := newTab(t, srv)

	tb.signIn(key)
	tb.shot("users-empty")
	cookies, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "sessiond_console" {
			session = c
		}
		if strings.Contains(c.Value, "sessiond_ak_") {
			t.Errorf("cookie %s holds the admin key", c.Name)
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("console session cookie = %+v; want HttpOnly, SameSite=Strict", session)
	}
	if got := srv.count(`type = 'ConsoleSignedIn' AND metadata->'actor'->>'keyName' = 'ops'`); got != 1 {
		t.Fatalf("%d ConsoleSignedIn events, want 1", got)
	}

	tb.do(chromedp.SendKeys(chromedp.ID("user"), "alice"),
		chromedp.Click(chromedp.CSS(`form[role=search] button`)),
		chromedp.WaitVisible(chromedp.ID("sessions")))
	if got := tb.text("#sessions"); !strings.Contains(got, "s-1") || !strings.Contains(got, "s-2") {
		t.Fatalf("sessions table = %q; want s-1 and s-2", got)
	}
	tb.shot("users")

	tb.do(chromedp.SendKeys(chromedp.ID("reason-s-1"), "stolen laptop"),
		chromedp.Click(chromedp.ID("revoke-s-1")),
		chromedp.WaitVisible(chromedp.ID("outcome")))
	if got := tb.text("#broadcast"); got != "published" && got != "pending" {
		t.Fatalf("broadcast = %q", got)
	}
	var answer struct {
		Status, RevokedBy, Reason string
		Broadcast                 struct{ Status string }
	}
	if err := json.Unmarshal([]byte(tb.text("#answer")), &answer); err != nil {
		t.Fatalf("the page's API answer is not JSON: %v", err)
	}
	if answer.Status != "revoked" || answer.RevokedBy != "ops" || answer.Reason != "stolen laptop" {
		t.Fatalf("API answer on the page = %+v", answer)
	}
	tb.shot("revoked")

	tb.do(chromedp.Click(chromedp.ID("story-link")), chromedp.WaitVisible(chromedp.ID("timeline")))
	tb.shot("story")
	revocation := tb.text("#timeline li.event-revoked")
	for _, want := range []string{"SessionRevoked", "ops", "owner ops@example.test", "stolen laptop", "127.0.0.1"} {
		if !strings.Contains(revocation, want) {
			t.Errorf("timeline's revocation %q lacks %q", revocation, want)
		}
	}
	if got := tb.text("#session-status"); got != "revoked" {
		t.Errorf("status on the story = %q", got)
	}

	// The API agrees.
	st, body := srv.api("GET", "/users/alice/sessions/s-1", key, "")
	var api struct{ Status, RevokedBy, Reason string }
	if err := json.Unmarshal(body, &api); st != http.StatusOK || err != nil {
		t.Fatalf("API GET = %d %s", st, body)
	}
	if api.Status != "revoked" || api.RevokedBy != "ops" || api.Reason != "stolen laptop" {
		t.Fatalf("API says %+v", api)
	}
	if st, body := srv.api("GET", "/users/alice/sessions/s-2", key, ""); !strings.Contains(string(body), `"status":"active"`) {
		t.Fatalf("s-2 = %d %s; want still active", st, body)
	}

	// Revoke all: the rest of alice's sessions, after the page asks.
	tb.open("/console/users?user=alice")
	tb.do(chromedp.SendKeys(chromedp.ID("reason-all"), "offboarding"))
	tb.follow("#revoke-all button")
	if got := tb.text("#outcome"); !strings.Contains(got, "1 session(s) revoked") {
		t.Fatalf("revoke-all outcome = %q", got)
	}
	if st, body := srv.api("GET", "/users/alice/sessions/s-2", key, ""); !strings.Contains(string(body), `"reason":"offboarding"`) {
		t.Fatalf("after revoke-all, s-2 = %d %s", st, body)
	}

	tb.do(chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("signin")))
	if got := srv.count(`type = 'ConsoleSignedOut' AND data->>'reason' = 'signed-out'`); got != 1 {
		t.Fatalf("%d ConsoleSignedOut events, want 1", got)
	}
	tb.open("/console/users?user=alice")
	if !strings.Contains(tb.location(), "/console/signin") {
		t.Fatalf("after sign-out the users page is at %s; want the sign-in page", tb.location())
	}
	if v := tb.cspViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %q", v)
	}
}
