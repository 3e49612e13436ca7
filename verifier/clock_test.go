package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/tokens"
	"github.com/sessiond/sessiond/verifier"
)

// stepClock is the real clock plus an offset a test can step, counting
// how often it is read since the last step.
type stepClock struct {
	off   atomic.Int64
	reads atomic.Int64
}

func (c *stepClock) now() time.Time {
	c.reads.Add(1)
	return time.Now().Add(time.Duration(c.off.Load()))
}

func (c *stepClock) set(off time.Duration) {
	c.off.Store(int64(off))
	c.reads.Store(0)
}

// seen waits until the verifier has read the clock twice since the last
// step: with no message flowing, both reads are its ticker's, so the first
// one's refresh has finished.
func (c *stepClock) seen(t *testing.T) {
	t.Helper()
	eventually(t, "the verifier reads the stepped clock", func() bool { return c.reads.Load() >= 2 })
}

// heartbeatBehind publishes a heartbeat sent now by a relay that was last
// caught up behind ago.
func (f *feed) heartbeatBehind(behind time.Duration) {
	f.t.Helper()
	now := time.Now()
	b, _ := json.Marshal(map[string]any{"position": f.pos, "head": f.pos, "at": now, "caughtUpAt": now.Add(-behind)})
	if _, err := f.js.Publish(context.Background(), "sessions.heartbeat", b); err != nil {
		f.t.Fatal(err)
	}
}

// TestClockStepBackKeepsStaleness: a verifier whose clock is set back must
// not count the step as time it has been fresh. Its staleness does not
// drop, so it still goes stale within its real bound when the feed stops;
// a heartbeat after the step makes it fresh again.
func TestClockStepBackKeepsStaleness(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	var clk stepClock
	f.heartbeatBehind(1500 * time.Millisecond)
	v := newVerifier(t, ns, verifier.WithFailClosed(time.Hour), verifier.WithClock(clk.now))
	before := v.Staleness()
	if before < 1500*time.Millisecond || before > time.Minute {
		t.Fatalf("staleness after a heartbeat 1.5 s behind = %v", before)
	}
	clk.set(-10 * time.Second)
	clk.seen(t)
	if got := v.Staleness(); got < before {
		t.Fatalf("staleness %v after the clock was set back 10 s, %v before: the step counted as freshness", got, before)
	}
	// Heartbeats keep coming: one alone could be a second old by the time
	// a loaded machine applies it.
	eventually(t, "a heartbeat after the step makes it fresh", func() bool {
		f.heartbeatBehind(0)
		return v.Staleness() < time.Second
	})
}

// tokenSource mints session tokens and serves their JWKS.
func tokenSource(t *testing.T) (mint func(sid string, exp time.Time) string, jwksURL string) {
	t.Helper()
	key, err := tokens.WriteKeyFile(filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := tokens.NewIssuer("https://sessiond.test", "sessiond", []tokens.Key{key})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(iss.JWKS()) }))
	t.Cleanup(srv.Close)
	return func(sid string, exp time.Time) string {
		tok, err := iss.Mint("alice", sid, exp, time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}, srv.URL
}

// TestClockStepBackAfterForgetting: a verifier whose clock ran ahead drops
// revocations past their KeepUntil on that clock (swept, or never added
// when they arrive). Once the clock is set back, those sessions' tokens
// pass their exp check again, so they must still be refused: the verifier
// cannot tell them from unrevoked ones any more.
func TestClockStepBackAfterForgetting(t *testing.T) {
	mint, jwks := tokenSource(t)
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	var clk stepClock
	// Far enough ahead that the verifier still holds the revocation when it
	// has loaded on a loaded machine, and the tokens below are unexpired.
	expires := time.Now().Add(30 * time.Second).Truncate(time.Second)
	f.revoke("swept", expires)
	f.heartbeatBehind(0)
	var applied atomic.Int32
	v := newVerifier(t, ns, verifier.WithJWKS(jwks), verifier.WithIssuer("https://sessiond.test"),
		verifier.WithLeeway(time.Second), verifier.WithClock(clk.now),
		verifier.WithObserver(func(verifier.Revocation) { applied.Add(1) }))
	if !errors.Is(v.Check("swept"), verifier.ErrRevoked) {
		t.Fatal("swept: not revoked")
	}

	clk.set(time.Minute) // past expires + leeway
	eventually(t, "swept from the set", func() bool { return v.Len() == 0 })
	f.revoke("late", expires) // arrives while the clock is ahead
	eventually(t, "late applied", func() bool { return applied.Load() == 2 })
	clk.set(0)
	clk.seen(t)

	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	for _, sid := range []string{"swept", "late"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+mint(sid, expires))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusOK {
			t.Errorf("token of revoked session %s (exp in the future) accepted after the clock was set back", sid)
		}
		if _, err := v.VerifyToken(context.Background(), mint(sid, expires)); err == nil {
			t.Errorf("VerifyToken(%s) passed after its revocation was forgotten", sid)
		}
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+mint("other", expires.Add(time.Hour)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("token of a live session expiring later: %d %s", rec.Code, rec.Body)
	}
}
