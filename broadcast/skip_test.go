package broadcast_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// wireCounter counts the revocations published on NATS per Nats-Msg-Id,
// through a plain subscription: it sees every publish, including the ones
// JetStream then drops as duplicates.
type wireCounter struct {
	nc   *nats.Conn
	mu   sync.Mutex
	byID map[string]int
}

func countPublishes(t *testing.T, ns *natstest.Server) *wireCounter {
	t.Helper()
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	w := &wireCounter{nc: nc, byID: map[string]int{}}
	if _, err := nc.Subscribe(broadcast.SubjectRevoked+">", func(m *nats.Msg) {
		w.mu.Lock()
		w.byID[m.Header.Get(jetstream.MsgIDHeader)]++
		w.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return w
}

// count returns the publishes of id seen so far: everything the server
// had routed before the call (a round trip to it first).
func (w *wireCounter) count(t *testing.T, id string) int {
	t.Helper()
	if err := w.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.byID[id]
}

// gate is an Elect that makes the relay leader only once opened.
func gate() (broadcast.Elect, func()) {
	open := make(chan struct{})
	return func(ctx context.Context, fn func(context.Context)) (bool, error) {
		select {
		case <-open:
			fn(ctx)
			return true, nil
		case <-ctx.Done():
			return false, nil
		}
	}, func() { close(open) }
}

// TestRelaySkipsAcknowledged: the relay does not publish again a revocation
// this instance's immediate path had acknowledged, but it does publish one
// whose immediate publish failed, one acknowledged on another instance, and
// one never published at once; the stream ends up holding all of them.
func TestRelaySkipsAcknowledged(t *testing.T) {
	ns := natstest.Start(t)
	l := newLog(t)
	wire := countPublishes(t, ns)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	elect, lead := gate()
	svc, err := broadcast.Start(l, elect, nc, broadcast.Options{Logger: slog.New(slog.DiscardHandler),
		Relay: broadcast.RelayOptions{Heartbeat: 20 * time.Millisecond, Retry: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	record := func(sid string) eventstore.Recorded {
		revoke(t, l, sid)
		recs, err := l.ReadAll(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return recs[len(recs)-1]
	}

	acked := record("s-acked")
	waitfor.Cond(t, 10*time.Second, func() error { // until the stream is set up
		if !svc.PublishNow(context.Background(), []eventstore.Recorded{acked}) {
			return fmt.Errorf("immediate publish not acknowledged")
		}
		return nil
	})
	// Acknowledged on another instance: unknown here.
	elsewhere := record("s-elsewhere")
	nc2, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc2.Close)
	js2, _ := jetstream.New(nc2)
	if !broadcast.NewPublisher(nc2, js2, broadcast.PublisherOptions{AckWait: ackWait}).PublishNow(context.Background(), []eventstore.Recorded{elsewhere}) {
		t.Fatal("other instance: immediate publish not acknowledged")
	}
	// Sent, but the immediate path failed before its ack (the next
	// record cannot be encoded): it reports false.
	failed := record("s-failed")
	poison := eventstore.Recorded{Position: failed.Position + 100, Type: domain.TypeSessionRevoked, Data: []byte(`{"sessionId": 42}`)}
	if svc.PublishNow(context.Background(), []eventstore.Recorded{failed, poison}) {
		t.Fatal("immediate publish with an unencodable record reported success")
	}
	never := record("s-never")

	lead()
	head, _, err := l.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitfor.Cond(t, 10*time.Second, func() error {
		if p := svc.Relay().Runner().Position(); p < head {
			return fmt.Errorf("relay at %d of %d", p, head)
		}
		return nil
	})
	for _, c := range []struct {
		rec  eventstore.Recorded
		want int // publishes seen on NATS
	}{{acked, 1}, {elsewhere, 2}, {never, 1}} {
		if got := wire.count(t, c.rec.EventID.String()); got != c.want {
			t.Errorf("revocation at %d: published %d times, want %d", c.rec.Position, got, c.want)
		}
	}
	if got := wire.count(t, failed.EventID.String()); got < 2 {
		t.Errorf("revocation whose immediate publish failed: published %d times, want the relay's too", got)
	}
	js, _ := jetstream.New(nc)
	st, err := js.Stream(context.Background(), broadcast.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{"s-acked", "s-elsewhere", "s-failed", "s-never"} {
		if _, err := st.GetLastMsgForSubject(context.Background(), broadcast.SubjectRevoked+sid); err != nil {
			t.Errorf("stream has no revocation of %s: %v", sid, err)
		}
	}
}
