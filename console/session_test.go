package console_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestConsoleIdleTimeout: a console session left idle ends on its own,
// the end is recorded, and the browser is sent to sign in again.
func TestConsoleIdleTimeout(t *testing.T) {
	// Sign-in's redirect must reach the server before the session is idle:
	// 3 s leaves a loaded machine's browser time for it.
	srv := startServer(t, "SESSIOND_CONSOLE_IDLE_TIMEOUT", "3s")
	key := srv.key("ops")
	tb := newTab(t, srv)
	tb.signIn(key)
	waitFor(t, func() error {
		if n := srv.count(`type = 'ConsoleSignedOut' AND data->>'reason' = 'idle-timeout'`); n != 1 {
			return fmt.Errorf("%d idle sign-outs recorded", n)
		}
		return nil
	})
	tb.open("/console/users")
	if !strings.Contains(tb.location(), "/console/signin") {
		t.Fatalf("an idle session still opens %s", tb.location())
	}
	if got := tb.text("main"); !strings.Contains(got, "idle") {
		t.Fatalf("the sign-in page does not say why: %q", got)
	}
}

// TestConsoleKeyRevoked: a wrong key is refused in words; revoking the key
// behind a console session signs it out at its next request, recorded.
func TestConsoleKeyRevoked(t *testing.T) {
	srv := startServer(t)
	key := srv.key("temp")
	tb := newTab(t, srv)
	tb.open("/console/signin")
	tb.do(chromedp.SendKeys(chromedp.ID("key"), "sessiond_ak_wrong"), chromedp.Click(chromedp.CSS("#signin button")),
		chromedp.WaitVisible(chromedp.ID("error")))
	if got := tb.text("#error"); !strings.Contains(got, "not valid") || !strings.Contains(got, "ADMIN_SESSION_INVALID") {
		t.Fatalf("a wrong key is answered %q", got)
	}
	tb.shot("signin-refused")
	tb.signIn(key)
	var id string
	if err := srv.Pool.QueryRow(context.Background(),
		`SELECT data->>'keyId' FROM events WHERE type = 'AdminKeyCreated' AND data->>'name' = 'temp'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	srv.cli("keys", "revoke", id)
	waitFor(t, func() error {
		tb.open("/console/users")
		if !strings.Contains(tb.location(), "/console/signin") {
			return fmt.Errorf("still signed in at %s", tb.location())
		}
		return nil
	})
	if got := tb.text("main"); !strings.Contains(got, "revoked") {
		t.Fatalf("the sign-in page does not say why: %q", got)
	}
	if n := srv.count(`type = 'ConsoleSignedOut' AND data->>'reason' = 'key-revoked'`); n != 1 {
		t.Fatalf("%d key-revoked sign-outs recorded, want 1", n)
	}
}
