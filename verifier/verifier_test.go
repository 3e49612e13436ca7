package verifier_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/verifier"
)

// feed is a test stand-in for sessiond's relay: it publishes
// contract-shaped messages to a real JetStream.
type feed struct {
	t   *testing.T
	nc  *nats.Conn
	js  jetstream.JetStream
	pos int64
}

func newFeed(t *testing.T, ns *natstest.Server) *feed {
	t.Helper()
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	_, err = js.CreateOrUpdateStream(context.Background(), jetstream.StreamConfig{
		Name: "SESSIONS", Subjects: []string{"sessions.>"}, Storage: jetstream.FileStorage, MaxMsgsPerSubject: 1, AllowMsgTTL: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &feed{t: t, nc: nc, js: js}
}

func (f *feed) revoke(sessionID string, expires time.Time) {
	f.t.Helper()
	f.pos++
	b, _ := json.Marshal(verifier.Revocation{Type: "SessionRevoked", EventID: fmt.Sprint("e", f.pos), Position: f.pos,
		SessionID: sessionID, UserID: "u1", RevokedAt: time.Now(), ExpiresAt: expires, RevokedBy: "ops", Reason: "test"})
	if _, err := f.js.Publish(context.Background(), "sessions.revoked."+sessionID, b); err != nil {
		f.t.Fatal(err)
	}
}

func (f *feed) heartbeat(at time.Time) {
	f.t.Helper()
	b, _ := json.Marshal(map[string]any{"position": f.pos, "at": at})
	if _, err := f.js.Publish(context.Background(), "sessions.heartbeat", b); err != nil {
		f.t.Fatal(err)
	}
}

func connect(t *testing.T, ns *natstest.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newVerifier(t *testing.T, ns *natstest.Server, opts ...verifier.Option) *verifier.Verifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := verifier.New(ctx, connect(t, ns), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func eventually(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second) // generous: a loaded CI machine
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLoadAndFollow(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	hour := time.Now().Add(time.Hour)
	f.revoke("old-1", hour)
	f.revoke("old-2", hour)
	f.revoke("gone", time.Now().Add(-time.Minute)) // already expired
	f.heartbeat(time.Now())

	v := newVerifier(t, ns)
	if got := v.Len(); got != 2 {
		t.Errorf("loaded %d revocations, want 2 (unexpired only)", got)
	}
	for id, want := range map[string]error{"old-1": verifier.ErrRevoked, "old-2": verifier.ErrRevoked, "gone": nil, "fresh": nil} {
		if err := v.Check(id); !errors.Is(err, want) && err != want {
			t.Errorf("Check(%s) = %v, want %v", id, err, want)
		}
	}
	f.revoke("fresh", hour)
	eventually(t, "fresh revoked", func() bool { return errors.Is(v.Check("fresh"), verifier.ErrRevoked) })
	f.revoke("fresh", hour) // a duplicate changes nothing
	if got := v.Len(); got != 3 {
		t.Errorf("Len = %d after a duplicate, want 3", got)
	}
}

// TestExpiry: an entry stops counting at its session's expiry plus the
// token leeway and is swept from memory.
func TestExpiry(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	v := newVerifier(t, ns, verifier.WithLeeway(500*time.Millisecond))
	f.revoke("short", time.Now().Add(time.Second))
	eventually(t, "short revoked", func() bool { return errors.Is(v.Check("short"), verifier.ErrRevoked) })
	eventually(t, "short expired and swept", func() bool { return v.Check("short") == nil && v.Len() == 0 })
}

func TestStaleness(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	f.heartbeat(time.Now())
	closed := newVerifier(t, ns, verifier.WithFailClosed(300*time.Millisecond))
	open := newVerifier(t, ns, verifier.WithMaxStaleness(300*time.Millisecond))
	// Fresh while heartbeats flow. (One heartbeat alone may be older than
	// the bound by the time a loaded machine has started both verifiers.)
	eventually(t, "fail-closed fresh while heartbeats flow", func() bool {
		f.heartbeat(time.Now())
		return closed.Check("s") == nil
	})
	// No heartbeat for longer than the bound.
	eventually(t, "fail-closed goes stale", func() bool { return errors.Is(closed.Check("s"), verifier.ErrStale) })
	if err := open.Check("s"); err != nil {
		t.Errorf("fail-open Check while stale = %v, want nil", err)
	}
	f.revoke("r", time.Now().Add(time.Hour))
	eventually(t, "revoked wins over stale", func() bool { return errors.Is(closed.Check("r"), verifier.ErrRevoked) })
	eventually(t, "fresh again once heartbeats flow", func() bool {
		f.heartbeat(time.Now())
		return closed.Check("s") == nil
	})

	// A replayed old heartbeat does not make a new verifier fresh.
	f.heartbeat(time.Now().Add(-time.Hour))
	late := newVerifier(t, ns, verifier.WithFailClosed(time.Second))
	if err := late.Check("s"); !errors.Is(err, verifier.ErrStale) {
		t.Errorf("verifier whose newest heartbeat is an hour old: Check = %v, want ErrStale", err)
	}
}

func TestMiddleware(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	f.revoke("bad", time.Now().Add(time.Hour))
	f.heartbeat(time.Now())
	v := newVerifier(t, ns, verifier.WithSessionID(verifier.SessionIDHeader("X-Session-Id")))
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	for _, tc := range []struct {
		session string
		status  int
		code    string
	}{{"good", 200, ""}, {"bad", 401, "SESSION_REVOKED"}, {"", 401, "TOKEN_INVALID"}} {
		req := httptest.NewRequest("GET", "/", nil)
		if tc.session != "" {
			req.Header.Set("X-Session-Id", tc.session)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || (tc.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`)) {
			t.Errorf("session %q: %d %s; want %d %s", tc.session, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

// TestMiddlewareNeedsACredential: without a JWKS or an extractor there is
// nothing to trust, so wiring the middleware fails loudly.
func TestMiddlewareNeedsACredential(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	f.heartbeat(time.Now())
	v := newVerifier(t, ns)
	defer func() {
		if recover() == nil {
			t.Error("Middleware without WithJWKS or WithSessionID did not panic")
		}
	}()
	v.Middleware(http.NotFoundHandler())
}

// TestCheckDoesNotAllocate guards the hot path.
func TestCheckDoesNotAllocate(t *testing.T) {
	ns := natstest.Start(t)
	f := newFeed(t, ns)
	f.revoke("r", time.Now().Add(time.Hour))
	v := newVerifier(t, ns)
	id := "not-revoked-session"
	if n := testing.AllocsPerRun(1000, func() { _ = v.Check(id); _ = v.Check("r") }); n != 0 {
		t.Errorf("Check allocates %v times per run", n)
	}
}
