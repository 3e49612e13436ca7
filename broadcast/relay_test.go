package broadcast_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/verifier"
	"github.com/sessiond/sessiond/verifier/wire"
)

var errInjected = errors.New("injected failure")

// faultyLog is the real embedded store with failures injected on demand.
type faultyLog struct {
	*sqlitestore.Store
	failReads atomic.Bool  // ReadAll fails
	failLoads atomic.Int32 // this many more LoadCheckpoint calls fail
}

func (l *faultyLog) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error) {
	if l.failReads.Load() {
		return nil, errInjected
	}
	return l.Store.ReadAll(ctx, after, limit)
}

func (l *faultyLog) LoadCheckpoint(ctx context.Context, name string) (int64, error) {
	if l.failLoads.Add(-1) >= 0 {
		return 0, errInjected
	}
	return l.Store.LoadCheckpoint(ctx, name)
}

// newLog returns a migrated embedded store on a fresh file.
func newLog(t testing.TB) *faultyLog {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessiond.db")
	s, err := sqlitestore.Open(path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := migrations.UpSQLite(context.Background(), s.DB(), path+".migrate-lock", nil); err != nil {
		t.Fatal(err)
	}
	return &faultyLog{Store: s}
}

// revoke appends a SessionRevoked for a session that expires in an hour.
func revoke(t testing.TB, l *faultyLog, sessionID string) {
	t.Helper()
	now := time.Now().UTC()
	typ, data, err := domain.EncodeEvent(domain.SessionRevoked{SessionID: sessionID, UserID: "alice", RevokedAt: now,
		ExpiresAt: now.Add(time.Hour), RevokedBy: domain.Actor{KeyID: "k1", KeyName: "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	appendEvent(t, l, sessionID, typ, data)
}

func appendEvent(t testing.TB, l *faultyLog, sessionID, typ string, data []byte) {
	t.Helper()
	_, err := l.Append(context.Background(), eventstore.StreamAppend{StreamID: "session-" + sessionID, ExpectedVersion: eventstore.AnyVersion,
		Events: []eventstore.Proposed{{Type: typ, Data: data}}})
	if err != nil {
		t.Fatal(err)
	}
}

// startRelay broadcasts l to ns with 20 ms heartbeats and retries, the
// relay always leading (a file lock of its own).
func startRelay(t testing.TB, ns *natstest.Server, l broadcast.Log) {
	t.Helper()
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	quiet := slog.New(slog.DiscardHandler)
	s, err := broadcast.Start(l, broadcast.FileElect(filepath.Join(t.TempDir(), "relay.lock")), nc, broadcast.Options{
		Relay: broadcast.RelayOptions{Heartbeat: 20 * time.Millisecond, Retry: 20 * time.Millisecond}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
}

func failClosed(t *testing.T, ns *natstest.Server, bound time.Duration) *verifier.Verifier {
	t.Helper()
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var v *verifier.Verifier
	waitfor.Cond(t, 10*time.Second, func() error { // the stream appears once the relay has set it up
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err = verifier.New(ctx, nc, verifier.WithFailClosed(bound), verifier.WithLogger(slog.New(slog.DiscardHandler)))
		return err
	})
	t.Cleanup(v.Close)
	return v
}

// TestStuckRelayGoesStale: while NATS is up and heartbeats flow, a relay
// that cannot move on — its reads fail, or one event fails forever — makes
// fail-closed verifiers stale within their bound; once it moves on they are
// fresh again and have the revocation.
func TestStuckRelayGoesStale(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stuck func(t *testing.T, l *faultyLog) // makes the relay stuck behind the head
		clear func(l *faultyLog)
	}{
		{"reads fail", func(t *testing.T, l *faultyLog) {
			l.failReads.Store(true)
			revoke(t, l, "s-stuck")
		}, func(l *faultyLog) { l.failReads.Store(false) }},
		{"poison event", func(t *testing.T, l *faultyLog) {
			// A revocation the relay cannot decode: retried forever.
			appendEvent(t, l, "s-poison", domain.TypeSessionRevoked, []byte(`{"sessionId": 42}`))
			revoke(t, l, "s-stuck")
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const bound = 400 * time.Millisecond
			ns := natstest.Start(t)
			l := newLog(t)
			revoke(t, l, "s-before")
			startRelay(t, ns, l)
			v := failClosed(t, ns, bound)
			waitfor.Cond(t, 10*time.Second, func() error { return v.Check("s-other") })
			if err := v.Check("s-before"); !errors.Is(err, verifier.ErrRevoked) {
				t.Fatalf("Check(s-before) = %v, want ErrRevoked", err)
			}

			stuckAt := time.Now()
			tc.stuck(t, l)
			waitfor.Cond(t, 10*time.Second, func() error {
				if err := v.Check("s-other"); !errors.Is(err, verifier.ErrStale) {
					return fmt.Errorf("stuck relay, heartbeats flowing: Check = %v, want ErrStale (staleness %v, bound %v)", err, v.Staleness(), bound)
				}
				return nil
			})
			t.Logf("stale %v after the relay got stuck (bound %v)", time.Since(stuckAt).Round(time.Millisecond), bound)
			if v.Head() <= v.Position() {
				t.Errorf("heartbeat head %d, position %d: want the head ahead of the stuck relay", v.Head(), v.Position())
			}
			if tc.clear == nil {
				return
			}
			tc.clear(l)
			waitfor.Cond(t, 10*time.Second, func() error {
				if err := v.Check("s-stuck"); !errors.Is(err, verifier.ErrRevoked) {
					return fmt.Errorf("relay moving again: Check(s-stuck) = %v, want ErrRevoked", err)
				}
				return v.Check("s-other")
			})
		})
	}
}

// TestFirstHeartbeatOfTerm: a leadership term sends no heartbeat before its
// runner has loaded the checkpoint; its first heartbeat already carries the
// checkpoint's position, never 0 or an older term's.
func TestFirstHeartbeatOfTerm(t *testing.T) {
	ns := natstest.Start(t)
	l := newLog(t)
	for i := range 3 {
		revoke(t, l, fmt.Sprint("s-", i))
	}
	head, _, err := l.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// An earlier leader broadcast everything.
	if err := l.SaveCheckpoint(context.Background(), broadcast.CheckpointName, head); err != nil {
		t.Fatal(err)
	}
	l.failLoads.Store(5) // the term's checkpoint loads only on the sixth try

	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var (
		mu    sync.Mutex
		beats []wire.Heartbeat
	)
	sub, err := nc.Subscribe(wire.SubjectHeartbeat, func(m *nats.Msg) {
		var hb wire.Heartbeat
		if err := json.Unmarshal(m.Data, &hb); err != nil {
			t.Errorf("heartbeat %s: %v", m.Data, err)
		}
		mu.Lock()
		beats = append(beats, hb)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	nc.Flush()

	startRelay(t, ns, l)
	waitfor.Cond(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(beats) < 3 {
			return fmt.Errorf("%d heartbeats", len(beats))
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for i, hb := range beats {
		if hb.Position != head || hb.Head != head || hb.CaughtUpAt.IsZero() || hb.CaughtUpAt.After(hb.At) {
			t.Fatalf("heartbeat %d of the term = %+v; want position and head %d, caughtUpAt set and not after at", i+1, hb, head)
		}
	}
	if n := l.failLoads.Load(); n >= 0 {
		t.Errorf("heartbeats before the checkpoint loaded: the load failed %d fewer times than injected", n+1)
	}
}
