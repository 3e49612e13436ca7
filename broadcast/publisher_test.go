package broadcast_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// TestPublishedMessage: a revocation lands on sessions.revoked.<id> with the
// contract's payload, the event id as Nats-Msg-Id and a TTL ending at the
// session's expiry plus the skew.
func TestPublishedMessage(t *testing.T) {
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	ttl, err := broadcast.EnsureStream(ctx, js, slog.New(slog.DiscardHandler), broadcast.StreamOptions{})
	if err != nil || !ttl {
		t.Fatalf("EnsureStream = %v, %v; want per-message TTL on nats-server 2.11+", ttl, err)
	}
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	_, data, _ := domain.EncodeEvent(domain.SessionRevoked{SessionID: "s-1", UserID: "alice", RevokedAt: time.Now().UTC(),
		ExpiresAt: expires, RevokedBy: domain.Actor{KeyID: "k1", KeyName: "ops"}, Reason: "stolen laptop"})
	rec := eventstore.Recorded{Position: 7, EventID: uuid.New(), Type: domain.TypeSessionRevoked, Data: data}
	// A generous ack bound: "published" must not depend on how loaded the
	// machine is.
	p := broadcast.NewPublisher(nc, js, broadcast.PublisherOptions{TTL: ttl, Skew: 5 * time.Minute, AckWait: ackWait})
	if !p.PublishNow(ctx, []eventstore.Recorded{rec, {Position: 8, Type: "SessionStarted", Data: []byte(`{}`)}}) {
		t.Fatal("PublishNow = false with NATS up")
	}
	st, _ := js.Stream(ctx, broadcast.StreamName)
	msg, err := st.GetLastMsgForSubject(ctx, "sessions.revoked.s-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("Nats-Msg-Id"); got != rec.EventID.String() {
		t.Errorf("Nats-Msg-Id = %q, want the event id", got)
	}
	ttlHeader, err := time.ParseDuration(msg.Header.Get("Nats-TTL"))
	if err != nil || ttlHeader < time.Hour || ttlHeader > time.Hour+5*time.Minute+time.Second {
		t.Errorf("Nats-TTL = %q, want about expiresAt + 5m from now", msg.Header.Get("Nats-TTL"))
	}
	var payload map[string]any
	if err := json.Unmarshal(msg.Data, &payload); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range payload {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if got := strings.Join(keys, ","); got != "eventId,expiresAt,position,reason,revokedAt,revokedBy,sessionId,type,userId" {
		t.Errorf("payload keys = %s", got)
	}
	if payload["type"] != "SessionRevoked" || payload["position"] != float64(7) || payload["revokedBy"] != "ops" || payload["userId"] != "alice" || payload["reason"] != "stolen laptop" {
		t.Errorf("payload = %s", msg.Data)
	}
	// Only the revocation was published.
	info, _ := st.Info(ctx)
	if info.State.Msgs != 1 {
		t.Errorf("stream holds %d messages, want 1", info.State.Msgs)
	}
	// With NATS gone (and the client aware of it), PublishNow answers false
	// at once rather than waiting out its ack bound.
	ns.Stop()
	waitfor.Cond(t, 10*time.Second, func() error {
		if nc.IsConnected() {
			return errors.New("the client has not noticed that NATS stopped")
		}
		return nil
	})
	start := time.Now()
	if p.PublishNow(ctx, []eventstore.Recorded{rec}) {
		t.Error("PublishNow = true with NATS down")
	}
	if took := time.Since(start); took >= ackWait/2 {
		t.Errorf("PublishNow with NATS down took %v, as if it waited for an ack (bound %v)", took, ackWait)
	}
}

// ackWait bounds the tests' waits for JetStream's ack: far beyond any
// healthy ack, even on a loaded machine.
const ackWait = 30 * time.Second
