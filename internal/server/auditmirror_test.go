package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// TestAuditStreamMirror: a consumer of the AUDIT stream receives every
// event of the log once and in order as a CloudEvent, including events
// recorded while NATS was down.
func TestAuditStreamMirror(t *testing.T) {
	ns := natstest.Start(t)
	s := startWithNATS(t, ns)
	key := s.key("ops")
	s.start(key, "alice", "m-1")
	s.start(key, "alice", "m-2")

	nc, err := nats.Connect(ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	waitfor.Cond(t, 10*time.Second, func() error { _, err := js.Stream(ctx, broadcast.AuditStreamName); return err })
	cons, err := js.OrderedConsumer(ctx, broadcast.AuditStreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		got  []broadcast.CloudEvent
		bads []string
	)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var ce broadcast.CloudEvent
		err := json.Unmarshal(m.Data(), &ce)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || ce.SpecVersion != "1.0" || m.Subject() != "audit."+strings.TrimPrefix(ce.Type, "sessiond.") ||
			m.Headers().Get("Nats-Msg-Id") != ce.ID || len(ce.Hash) != 64 || ce.Time == "" {
			bads = append(bads, string(m.Data()))
		}
		got = append(got, ce)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()

	ns.Stop() // the outage: events keep being recorded
	s.start(key, "alice", "m-3")
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/m-1", key, `{"reason":"outage"}`); r.Status != 200 {
		t.Fatalf("revoke during the outage = %d", r.Status)
	}
	ns.Restart()
	s.start(key, "alice", "m-4")

	type row struct {
		pos  int64
		id   string
		hash string
	}
	var want []row
	rows, err := s.Pool.Query(ctx, `SELECT position, event_id::text, encode(hash, 'hex') FROM events ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		_ = rows.Scan(&r.pos, &r.id, &r.hash)
		want = append(want, r)
	}
	waitfor.Cond(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < len(want) {
			return fmt.Errorf("consumer has %d of %d events", len(got), len(want))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for i, w := range want {
		if g := got[i]; g.Position != w.pos || g.ID != w.id || g.Hash != w.hash {
			t.Fatalf("message %d = position %d id %s; want position %d id %s", i, g.Position, g.ID, w.pos, w.id)
		}
	}
	if len(bads) > 0 {
		t.Errorf("malformed CloudEvents: %v", bads)
	}
	if m := string(s.do("GET", "/metrics", "", "").Body); !strings.Contains(m, `sessiond_projection_checkpoint_lag_events{consumer="audit-mirror"}`) {
		t.Error("metrics lack the audit mirror's lag")
	}
	st, err := js.Stream(ctx, broadcast.AuditStreamName)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := st.Info(ctx); info == nil || int(info.State.Msgs) != len(want) {
		t.Errorf("stream holds %v messages, want %d (one per event)", info.State.Msgs, len(want))
	}
	// The durable pull consumer deploy/siem/vector.toml tells operators to
	// create reads the same events in the same order.
	durable, err := js.CreateConsumer(ctx, broadcast.AuditStreamName, jetstream.ConsumerConfig{Durable: "vector",
		DeliverPolicy: jetstream.DeliverAllPolicy, AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "audit.>", MaxDeliver: -1})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := durable.Fetch(len(want), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for m := range batch.Messages() {
		var ce broadcast.CloudEvent
		_ = json.Unmarshal(m.Data(), &ce)
		if i >= len(want) || ce.Position != want[i].pos {
			t.Errorf("durable consumer message %d = position %d", i, ce.Position)
		}
		_ = m.Ack()
		i++
	}
	if i != len(want) {
		t.Errorf("durable consumer fetched %d of %d events", i, len(want))
	}
}

// TestAuditMirrorResumesFromStream: a mirror that lost its checkpoint (or
// whose outage outlasted the stream's duplicate window) resumes after the
// stream's last message instead of publishing everything again.
func TestAuditMirrorResumesFromStream(t *testing.T) {
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A short duplicate window: by the time the second server publishes,
	// JetStream no longer deduplicates what the first one published.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: broadcast.AuditStreamName, Subjects: []string{"audit.>"},
		Duplicates: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL())
	key := s.key("ops")
	s.start(key, "alice", "z-1")
	inStream := func(want int) func() error {
		return func() error {
			st, err := js.Stream(ctx, broadcast.AuditStreamName)
			if err != nil {
				return err
			}
			info, err := st.Info(ctx)
			if err != nil {
				return err
			}
			if int(info.State.Msgs) != want {
				return fmt.Errorf("stream holds %d messages, want %d", info.State.Msgs, want)
			}
			return nil
		}
	}
	waitfor.Cond(t, 10*time.Second, inStream(s.count("true")))
	s.Main.Close()
	if _, err := pool.Exec(ctx, `UPDATE checkpoints SET position = 0 WHERE name = $1`, broadcast.AuditCheckpointName); err != nil {
		t.Fatal(err)
	}
	s2 := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL())
	s2.start(key, "alice", "z-2")
	waitfor.Cond(t, 10*time.Second, func() error {
		var pos int64
		if err := pool.QueryRow(ctx, `SELECT position FROM checkpoints WHERE name = $1`, broadcast.AuditCheckpointName).Scan(&pos); err != nil {
			return err
		}
		if head := int64(s2.count("true")); pos != head {
			return fmt.Errorf("mirror at %d, head %d", pos, head)
		}
		return nil
	})
	if err := inStream(s2.count("true"))(); err != nil {
		t.Error(err) // more messages than events: republished
	}
}
