package console_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestConsoleIdleTimeout: a console session left idle ends on its own,
// the end is recorded, and the browser is sent to sign in again.
func TestConsoleIdleTimeout(t *testing.T) {
	srv := startServer(t, "SESSIOND_CONSOLE_IDLE_TIMEOUT", "1s")
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
