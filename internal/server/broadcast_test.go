package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/verifier"
)

// startWithNATS starts sessiond on a fresh database, broadcasting to ns.
func startWithNATS(t *testing.T, ns *natstest.Server, extraEnv ...string) *testServer {
	t.Helper()
	pool, dbURL := pgtest.NewPool(t)
	return startServerOn(t, pool, dbURL, append([]string{"NATS_URL", ns.URL(), "SESSIOND_HEARTBEAT", "100ms"}, extraEnv...)...)
}

// patientBroadcast makes a revocation wait far longer for JetStream's ack
// than any healthy ack takes, even on a loaded machine: tests that expect
// "published" then never see "pending" for a slow ack.
var patientBroadcast = []string{"SESSIOND_BROADCAST_WAIT", "30s"}

// observed records what a verifier applied, in order.
type observed struct {
	mu        sync.Mutex
	positions []int64
	sessions  map[string]int
}

func (o *observed) add(r verifier.Revocation) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.sessions == nil {
		o.sessions = map[string]int{}
	}
	o.positions = append(o.positions, r.Position)
	o.sessions[r.SessionID]++
}

func observerOpt(o *observed) verifier.Option { return verifier.WithObserver(o.add) }

func (o *observed) distinct() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sessions)
}

// newVerifier connects a verifier to url (reconnecting forever).
func newVerifier(t testing.TB, url string, opts ...verifier.Option) *verifier.Verifier {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var v *verifier.Verifier
	// The stream appears once sessiond has set it up.
	for {
		v, err = verifier.New(ctx, nc, opts...)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("verifier: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(v.Close)
	return v
}

// checkFor waits until fn returns nil, for at most total.
func checkFor(t *testing.T, total time.Duration, fn func() error) {
	t.Helper()
	waitfor.Cond(t, total, fn)
}

func revokedBy(v *verifier.Verifier, ids ...string) error {
	for _, id := range ids {
		if err := v.Check(id); !errors.Is(err, verifier.ErrRevoked) {
			return fmt.Errorf("Check(%s) = %v, want ErrRevoked", id, err)
		}
	}
	return nil
}

// TestBroadcastEndToEnd: start a session, a verifier accepts it, DELETE,
// the verifier rejects it.
func TestBroadcastEndToEnd(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns, patientBroadcast...)
	key := s.key("ops")
	s.start(key, "alice", "s-1")
	v := newVerifier(t, ns.URL(), verifier.WithFailClosed(2*time.Second))
	checkFor(t, 5*time.Second, func() error { return v.Check("s-1") }) // fresh: heartbeats flow

	r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", key, `{"reason":"stolen laptop"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("DELETE = %d %s", r.Status, r.Body)
	}
	if bc := r.json(t)["broadcast"].(map[string]any)["status"]; bc != "published" {
		t.Errorf("broadcast = %v, want published (JetStream acked within the bound)", bc)
	}
	checkFor(t, 5*time.Second, func() error { return revokedBy(v, "s-1") })
	// Not revoked, and fresh once the next heartbeat is in (on a loaded
	// machine the fail-closed verifier may be stale for a moment).
	checkFor(t, 10*time.Second, func() error {
		if err := v.Check("s-other"); err != nil {
			return fmt.Errorf("an unrelated session: %w", err)
		}
		return nil
	})
	waitBroadcast(t, s)
	metrics := string(s.do("GET", "/metrics", "", "").Body)
	for _, want := range []string{
		"sessiond_broadcast_leader 1",
		"sessiond_broadcast_lag_events 0",
		"sessiond_broadcast_lag_seconds 0",
		`sessiond_projection_checkpoint_lag_events{consumer="broadcast-relay"}`,
		"sessiond_broadcast_publish_duration_seconds_count",
		"sessiond_broadcast_publish_errors_total",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestVerifierLoadsExisting: a verifier started after 1,000 revocations
// loads the unexpired ones and none of the expired ones (leeway 0).
func TestVerifierLoadsExisting(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns)
	key := s.key("ops")
	parallel(t, 1000, func(i int) {
		ttl := 3600
		if i%2 == 0 {
			ttl = 1 // expired by the time it is revoked
		}
		r := s.do("POST", "/auth/admin/api/users/bulk/sessions", key, fmt.Sprintf(`{"sessionId":"b-%d","ttlSeconds":%d}`, i, ttl))
		if r.Status != http.StatusCreated {
			t.Errorf("start %d = %d", i, r.Status)
		}
	})
	time.Sleep(1100 * time.Millisecond) // let the short sessions expire
	parallel(t, 1000, func(i int) {
		if r := s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/bulk/sessions/b-%d", i), key, ""); r.Status != http.StatusOK {
			t.Errorf("revoke %d = %d %s", i, r.Status, r.Body)
		}
	})
	waitBroadcast(t, s)
	// With no token leeway a revocation is kept only until expiresAt (by
	// default until expiresAt + 30 s, as long as tokens pass).
	v := newVerifier(t, ns.URL(), verifier.WithLeeway(0))
	if got := v.Len(); got != 500 {
		t.Errorf("verifier loaded %d revocations, want the 500 unexpired", got)
	}
	for i := range 1000 {
		err := v.Check(fmt.Sprintf("b-%d", i))
		if want := i%2 == 1; errors.Is(err, verifier.ErrRevoked) != want {
			t.Fatalf("b-%d: Check = %v, revoked want %v", i, err, want)
		}
	}
}

// waitBroadcast waits until the relay's checkpoint reaches the log head.
func waitBroadcast(t *testing.T, s *testServer) {
	t.Helper()
	checkFor(t, 20*time.Second, func() error {
		var head, cp int64
		s.Pool.QueryRow(context.Background(), `SELECT coalesce(max(position), 0) FROM events`).Scan(&head)
		s.Pool.QueryRow(context.Background(), `SELECT coalesce((SELECT position FROM checkpoints WHERE name = 'broadcast-relay'), 0)`).Scan(&cp)
		if cp < head {
			return fmt.Errorf("relay at %d of %d", cp, head)
		}
		return nil
	})
}

func parallel(t *testing.T, n int, fn func(i int)) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestNATSDown: with NATS stopped, revocations are still accepted (200,
// pending); when it returns, the backlog reaches a verifier in position
// order, each revocation once in its set.
func TestNATSDown(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns)
	key := s.key("ops")
	for i := range 100 {
		s.start(key, "alice", fmt.Sprintf("d-%d", i))
	}
	obs := &observed{}
	v := newVerifier(t, ns.URL(), verifier.WithObserver(obs.add))
	waitBroadcast(t, s)
	before := len(obs.positions)

	ns.Stop()
	for i := range 100 {
		r := s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/alice/sessions/d-%d", i), key, "")
		if r.Status != http.StatusOK {
			t.Fatalf("DELETE with NATS down = %d %s", r.Status, r.Body)
		}
		if bc := r.json(t)["broadcast"].(map[string]any)["status"]; bc != "pending" {
			t.Fatalf("broadcast with NATS down = %v, want pending", bc)
		}
	}
	ns.Restart()
	checkFor(t, 20*time.Second, func() error {
		if n := obs.distinct(); n < 100 {
			return fmt.Errorf("verifier saw %d of 100", n)
		}
		return nil
	})
	obs.mu.Lock()
	positions := append([]int64(nil), obs.positions[before:]...)
	obs.mu.Unlock()
	for i := 1; i < len(positions); i++ {
		if positions[i] < positions[i-1] {
			t.Fatalf("revocations arrived out of position order: %v", positions)
		}
	}
	if got := v.Len(); got != 100 {
		t.Errorf("verifier holds %d revocations, want 100", got)
	}
	for i := range 100 {
		if err := revokedBy(v, fmt.Sprintf("d-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifierReconnects: a verifier cut off from NATS while revocations
// happen catches up when it is back.
func TestVerifierReconnects(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns)
	key := s.key("ops")
	for i := range 20 {
		s.start(key, "alice", fmt.Sprintf("c-%d", i))
	}
	u, _ := url.Parse(ns.URL())
	p := newProxy(t, u.Host)
	v := newVerifier(t, "nats://"+p.addr)
	p.down()
	for i := range 20 {
		if r := s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/alice/sessions/c-%d", i), key, ""); r.Status != http.StatusOK {
			t.Fatalf("DELETE = %d", r.Status)
		}
	}
	waitBroadcast(t, s)
	if err := v.Check("c-0"); err != nil {
		t.Fatalf("a cut-off verifier already knows: %v", err)
	}
	p.up()
	checkFor(t, 20*time.Second, func() error {
		for i := range 20 {
			if err := revokedBy(v, fmt.Sprintf("c-%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestRevokeAgainBroadcasts: a repeated DELETE broadcasts the original
// revocation again (same event id), so a client that retries after a
// "pending" also retries the broadcast; a verifier holds it once.
func TestRevokeAgainBroadcasts(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns, patientBroadcast...)
	key := s.key("ops")
	s.start(key, "erin", "again-1")
	var o observed
	v := newVerifier(t, ns.URL(), observerOpt(&o))
	for i := range 2 {
		r := s.do("DELETE", "/auth/admin/api/users/erin/sessions/again-1", key, `{"reason":"twice"}`)
		if body := string(r.Body); r.Status != 200 || !strings.Contains(body, `"status":"published"`) {
			t.Fatalf("DELETE %d = %d %s; want published", i+1, r.Status, body)
		}
	}
	checkFor(t, 5*time.Second, func() error { return revokedBy(v, "again-1") })
	if s.count(`type = 'SessionRevoked'`) != 1 {
		t.Error("the second DELETE appended an event")
	}
}
