package server_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/verifier"
)

// clusterRig is the scale-out deployment in one process: a 3-node
// JetStream cluster with the SESSIONS stream at 3 replicas, a leaf node,
// and two sessiond replicas on one database.
type clusterRig struct {
	nats *natstest.Cluster
	leaf *natstest.Server
	a, b *testServer
	key  string
}

// startClusterRig starts the rig. The stream is set up first, so its
// leader is known; natsURL picks the NATS URL sessiond is given.
func startClusterRig(t *testing.T, natsURL func(c *natstest.Cluster) string) *clusterRig {
	t.Helper()
	c := natstest.StartCluster(t, 3)
	leaf := c.StartLeaf(t)
	nc, err := nats.Connect(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	// One replica: sessiond scales it up to 3 in place.
	natstest.Retry(t, 60*time.Second, func(ctx context.Context) error {
		_, err := broadcast.EnsureStream(ctx, js, slog.New(slog.DiscardHandler), broadcast.StreamOptions{Replicas: 1})
		return err
	})
	ctx := context.Background()
	pool, dbURL := pgtest.NewPool(t)
	cfg := []string{"NATS_URL", natsURL(c), "SESSIOND_STREAM_REPLICAS", "3", "SESSIOND_HEARTBEAT", "100ms"}
	r := &clusterRig{nats: c, leaf: leaf,
		a: startServerOn(t, pool, dbURL, cfg...), b: startServerOn(t, pool, dbURL, cfg...)}
	r.key = r.a.key("ops")
	checkFor(t, 30*time.Second, func() error {
		if c.StreamLeader("SESSIONS") == nil {
			return errors.New("the SESSIONS stream has no leader yet")
		}
		if n := leaders(r.a, r.b); n != 1 {
			return fmt.Errorf("%d relay leaders", n)
		}
		st, err := js.Stream(ctx, broadcast.StreamName)
		if err != nil {
			return err
		}
		info := st.CachedInfo()
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("the stream has %d replicas, want 3", info.Config.Replicas)
		}
		for _, p := range info.Cluster.Replicas {
			if !p.Current {
				return fmt.Errorf("replica %s is not current", p.Name)
			}
		}
		return nil
	})
	nc.Close()
	return r
}

// revokeAll revokes user's sessions ids through the given servers in turn,
// 4 at a time, and returns each one's broadcast status; any answer but 200
// fails the test (the database stays up throughout). When interrupt is not
// nil it runs, once, after the first `after` revocations got their 200,
// while the others go on.
func revokeAll(t *testing.T, key, user string, ids []string, after int, interrupt func(), via ...*testServer) map[string]string {
	t.Helper()
	var (
		mu     sync.Mutex
		status = map[string]string{}
		wg     sync.WaitGroup
		next   = make(chan int, len(ids))
		once   sync.Once
	)
	for i := range ids {
		next <- i
	}
	close(next)
	for range 4 {
		wg.Go(func() {
			for i := range next {
				s := via[i%len(via)]
				r := s.do("DELETE", "/auth/admin/api/users/"+user+"/sessions/"+ids[i], key, `{"reason":"cluster test"}`)
				if r.Status != http.StatusOK {
					t.Errorf("DELETE %s = %d %s", ids[i], r.Status, r.Body)
					continue
				}
				var body struct {
					Broadcast struct{ Status string } `json:"broadcast"`
				}
				jsonUnmarshal(r.Body, &body)
				mu.Lock()
				status[ids[i]] = body.Broadcast.Status
				done := len(status)
				mu.Unlock()
				if interrupt != nil && done >= after {
					once.Do(interrupt)
				}
			}
		})
	}
	wg.Wait()
	return status
}

func sessionIDs(prefix string, from, to int) []string {
	var ids []string
	for i := from; i < to; i++ {
		ids = append(ids, fmt.Sprintf("%s-%d", prefix, i))
	}
	return ids
}

// allRevoked waits until every verifier rejects every id.
func allRevoked(t *testing.T, vs []*verifier.Verifier, ids []string) {
	t.Helper()
	checkFor(t, 60*time.Second, func() error {
		for i, v := range vs {
			if err := revokedBy(v, ids...); err != nil {
				return fmt.Errorf("verifier %d: %w", i, err)
			}
		}
		return nil
	})
}

// TestClusterStreamLeaderLoss: the NATS node leading the SESSIONS stream
// dies while revocations flow through both sessiond replicas. Both were
// given that node's URL (they learn the others from it), so their own
// connections drop with it and the immediate path fails: the relay must
// deliver what it could not. Every revocation is acknowledged published
// or pending, and all of them reach every verifier behind the leaf node.
func TestClusterStreamLeaderLoss(t *testing.T) {
	r := startClusterRig(t, func(c *natstest.Cluster) string { return c.StreamLeader("SESSIONS").URL() })
	began := time.Now()
	var vs []*verifier.Verifier
	for range 3 {
		vs = append(vs, newVerifier(t, r.leaf.URL()))
	}
	const n = 200
	for _, id := range sessionIDs("c", 0, n) {
		r.a.start(r.key, "alice", id)
	}
	old := r.nats.StreamLeader("SESSIONS")
	status := revokeAll(t, r.key, "alice", sessionIDs("c", 0, n), 20, func() {
		t.Logf("%v: killing %s", time.Since(began), old.Name())
		old.Stop()
	}, r.a, r.b)
	counts := map[string]int{}
	for id, st := range status {
		if st != "published" && st != "pending" {
			t.Errorf("%s: broadcast %q, want published or pending", id, st)
		}
		counts[st]++
	}
	if len(status) != n {
		t.Fatalf("%d revocations answered 200, want %d", len(status), n)
	}
	t.Logf("%v: revoked", time.Since(began))
	allRevoked(t, vs, sessionIDs("c", 0, n))
	t.Logf("%v: all delivered", time.Since(began))
	if l := r.nats.StreamLeader("SESSIONS"); l == nil || l == old {
		t.Errorf("stream leader after the loss: %v", l)
	}
	t.Logf("killed %s after 20 of %d revocations: %d published, %d pending", old.Name(), n, counts["published"], counts["pending"])
}

// TestClusterLeafCutOff: the leaf node in front of the verifiers stops,
// revocations are made, and the leaf comes back. Meanwhile the fail-closed
// verifier answers ErrStale; afterwards both verifiers have every
// revocation and the fail-closed one is fresh again.
func TestClusterLeafCutOff(t *testing.T) {
	r := startClusterRig(t, (*natstest.Cluster).URL)
	closed := newVerifier(t, r.leaf.URL(), verifier.WithFailClosed(time.Second))
	open := newVerifier(t, r.leaf.URL())
	const n = 20
	for _, id := range sessionIDs("l", 0, n) {
		r.a.start(r.key, "alice", id)
	}
	r.a.start(r.key, "alice", "l-keep")
	checkFor(t, 10*time.Second, func() error { return closed.Check("l-keep") })

	r.leaf.Stop()
	checkFor(t, 10*time.Second, func() error {
		if err := closed.Check("l-keep"); !errors.Is(err, verifier.ErrStale) {
			return fmt.Errorf("fail-closed Check while cut off = %v, want ErrStale", err)
		}
		return nil
	})
	revokeAll(t, r.key, "alice", sessionIDs("l", 0, n), 0, nil, r.a, r.b)
	if err := open.Check("l-keep"); err != nil {
		t.Errorf("fail-open Check while cut off = %v, want nil", err)
	}
	if err := closed.Check("l-0"); !errors.Is(err, verifier.ErrStale) {
		t.Errorf("fail-closed Check of a session revoked while cut off = %v, want ErrStale", err)
	}

	r.leaf.Restart()
	r.leaf.WaitLeafConnected(t)
	allRevoked(t, []*verifier.Verifier{closed, open}, sessionIDs("l", 0, n))
	checkFor(t, 10*time.Second, func() error { return closed.Check("l-keep") })
}

// TestClusterLeafMirror: the regional pattern. A leaf node with JetStream
// of its own mirrors SESSIONS; unmodified verifiers behind it read the
// local mirror; none of them is a consumer on the hub (the mirror's own
// sourcing consumer is not counted there either).
func TestClusterLeafMirror(t *testing.T) {
	r := startClusterRig(t, (*natstest.Cluster).URL)
	edge := r.nats.StartMirrorLeaf(t, broadcast.StreamName)
	for _, id := range sessionIDs("m", 0, 20) {
		r.a.start(r.key, "alice", id)
	}
	r.a.start(r.key, "alice", "m-keep")
	revokeAll(t, r.key, "alice", sessionIDs("m", 0, 10), 0, nil, r.a, r.b)
	var vs []*verifier.Verifier
	for range 5 {
		vs = append(vs, newVerifier(t, edge.URL(), verifier.WithFailClosed(2*time.Second)))
	}
	revokeAll(t, r.key, "alice", sessionIDs("m", 10, 20), 0, nil, r.a, r.b)
	allRevoked(t, vs, sessionIDs("m", 0, 20))
	checkFor(t, 10*time.Second, func() error { return vs[0].Check("m-keep") }) // heartbeats come through the mirror

	nc, err := nats.Connect(r.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var st jetstream.Stream
	natstest.Retry(t, 30*time.Second, func(ctx context.Context) (err error) {
		st, err = js.Stream(ctx, broadcast.StreamName)
		return err
	})
	if got := st.CachedInfo().State.Consumers; got != 0 {
		t.Errorf("the hub's stream has %d consumers with 5 verifiers behind the mirror, want none", got)
	}
	enc, err := nats.Connect(edge.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ejs, _ := jetstream.New(enc)
	var mirror jetstream.Stream
	natstest.Retry(t, 30*time.Second, func(ctx context.Context) (err error) {
		mirror, err = ejs.Stream(ctx, broadcast.StreamName)
		return err
	})
	if info := mirror.CachedInfo(); info.Mirror == nil || !info.Config.AllowMsgTTL || info.State.Consumers != 5 {
		t.Errorf("edge stream: mirror %v, per-message TTL %v, %d consumers; want a mirror with TTL serving the 5 verifiers",
			info.Mirror, info.Config.AllowMsgTTL, info.State.Consumers)
	}
}
