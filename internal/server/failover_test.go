package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
)

func leaders(servers ...*testServer) int {
	n := 0
	for _, s := range servers {
		if s.Main.Broadcast() != nil && s.Main.Broadcast().Relay().IsLeader() {
			n++
		}
	}
	return n
}

// watchLeaders polls the servers' relays until the test ends and returns
// a function that stops the watch and reports the most relays seen active
// at one time.
func watchLeaders(t *testing.T, servers ...*testServer) func() int {
	// The relays themselves, taken now: a server's Close must not race
	// with the watch (IsLeader is atomic).
	var relays []*broadcast.Relay
	for _, s := range servers {
		relays = append(relays, s.Main.Broadcast().Relay())
	}
	active := func() int {
		n := 0
		for _, r := range relays {
			if r.IsLeader() {
				n++
			}
		}
		return n
	}
	var most atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if n := int64(active()); n > most.Load() {
				most.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var once sync.Once
	finish := func() int {
		once.Do(func() { close(stop); <-done })
		return int(most.Load())
	}
	t.Cleanup(func() { finish() })
	return finish
}

// TestRelayFailover: two instances on one database elect exactly one
// relay; when it stops, the other takes over and no revocation is lost.
func TestRelayFailover(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	a := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_HEARTBEAT", "100ms")
	b := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_HEARTBEAT", "100ms")
	key := a.key("ops")
	checkFor(t, 10*time.Second, func() error {
		if n := leaders(a, b); n != 1 {
			return fmt.Errorf("%d leaders", n)
		}
		return nil
	})
	// Watched for the whole test, failover included: never two relays
	// active at once.
	most := watchLeaders(t, a, b)
	leader, other := a, b
	if !a.Main.Broadcast().Relay().IsLeader() {
		leader, other = b, a
	}
	v := newVerifier(t, ns.URL())
	for i := range 40 {
		other.start(key, "alice", fmt.Sprintf("f-%d", i))
	}
	for i := range 20 {
		if r := other.do("DELETE", fmt.Sprintf("/auth/admin/api/users/alice/sessions/f-%d", i), key, ""); r.Status != http.StatusOK {
			t.Fatalf("DELETE = %d", r.Status)
		}
	}
	leader.Main.Close()
	start := time.Now()
	checkFor(t, 10*time.Second, func() error {
		if !other.Main.Broadcast().Relay().IsLeader() {
			return fmt.Errorf("no takeover")
		}
		return nil
	})
	t.Logf("takeover after %v", time.Since(start))
	defer func() {
		if n := most(); n > 1 {
			t.Errorf("%d relays were active at once", n)
		}
	}()
	for i := 20; i < 40; i++ {
		if r := other.do("DELETE", fmt.Sprintf("/auth/admin/api/users/alice/sessions/f-%d", i), key, ""); r.Status != http.StatusOK {
			t.Fatalf("DELETE = %d", r.Status)
		}
	}
	checkFor(t, 10*time.Second, func() error {
		for i := range 40 {
			if err := revokedBy(v, fmt.Sprintf("f-%d", i)); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestDuplicatePublish: a relay that crashed between publishing and saving
// its checkpoint publishes again on restart; JetStream drops every repeat
// by its Nats-Msg-Id, so the stream delivers each revocation once and
// verifiers see no change. Counted per Nats-Msg-Id: on the wire (the
// replay did publish again) and out of the stream (once each).
func TestDuplicatePublish(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL())
	key := s.key("ops")
	for i := range 10 {
		s.start(key, "alice", fmt.Sprintf("p-%d", i))
		s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/alice/sessions/p-%d", i), key, "")
	}
	waitBroadcast(t, s)
	obs := &observed{}
	v := newVerifier(t, ns.URL(), observerOpt(obs))
	msgs := streamMsgs(t, ns.URL())
	stored := countByMsgID(t, ns.URL(), true)
	wire := countByMsgID(t, ns.URL(), false)

	s.Main.Close()
	if _, err := pool.Exec(context.Background(), `UPDATE checkpoints SET position = 0 WHERE name = 'broadcast-relay'`); err != nil {
		t.Fatal(err)
	}
	s2 := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL())
	waitBroadcast(t, s2) // replayed everything from position 0
	if got := streamMsgs(t, ns.URL()); got != msgs {
		t.Errorf("stream holds %d messages after the replay, %d before", got, msgs)
	}
	if got, want := wire.settled(t, ns.URL()), 10; len(got) != want {
		t.Errorf("the replay published %d revocations, want %d: %v", len(got), want, got)
	}
	for id, n := range stored.settled(t, ns.URL()) {
		if n != 1 {
			t.Errorf("the stream delivered revocation %s %d times, want once", id, n)
		}
	}
	if got := v.Len(); got != 10 {
		t.Errorf("verifier holds %d revocations, want 10", got)
	}
	if n := obs.distinct(); n != 10 {
		t.Errorf("verifier saw %d distinct revocations, want 10", n)
	}
	for i := range 10 {
		if err := revokedBy(v, fmt.Sprintf("p-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

// msgIDCounter counts revocation messages per Nats-Msg-Id.
type msgIDCounter struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	mu   sync.Mutex
	byID map[string]int
	seen chan string
}

// countByMsgID counts from now on the revocations published on the wire
// (a plain subscription: every publish, repeats JetStream drops included),
// or with fromStream every revocation the stream delivers from its start.
func countByMsgID(t *testing.T, url string, fromStream bool) *msgIDCounter {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c := &msgIDCounter{nc: nc, byID: map[string]int{}, seen: make(chan string, 1024)}
	c.js, _ = jetstream.New(nc)
	add := func(h nats.Header) {
		id := h.Get(jetstream.MsgIDHeader)
		c.mu.Lock()
		c.byID[id]++
		c.mu.Unlock()
		c.seen <- id
	}
	if !fromStream {
		if _, err := nc.Subscribe("sessions.revoked.>", func(m *nats.Msg) { add(m.Header) }); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	st, err := c.js.Stream(ctx, "SESSIONS")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"sessions.revoked.>"}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { add(m.Headers()) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return c
}

// settled returns the counts once everything published before the call
// has arrived: it publishes a marker revocation to the stream and waits
// for it (both a plain subscription and an ordered consumer receive in
// order).
func (c *msgIDCounter) settled(t *testing.T, url string) map[string]int {
	t.Helper()
	marker := fmt.Sprint("marker-", time.Now().UnixNano())
	if _, err := c.js.Publish(context.Background(), "sessions.revoked."+marker, []byte("{}"), jetstream.WithMsgID(marker)); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case id := <-c.seen:
			if id != marker {
				continue
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			out := map[string]int{}
			for id, n := range c.byID {
				if !strings.HasPrefix(id, "marker-") {
					out[id] = n
				}
			}
			return out
		case <-timeout:
			t.Fatal("the marker never arrived")
		}
	}
}

func streamMsgs(t *testing.T, url string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), "SESSIONS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter("sessions.revoked.>"))
	if err != nil {
		t.Fatal(err)
	}
	return uint64(len(info.State.Subjects))
}
