package server_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/verifier"
)

// process is sessiond running as a real process.
type process struct {
	*testServer
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{} // closed when the process has exited
}

// startProcess runs the sessiond binary on dbURL, broadcasting to natsURL.
func startProcess(t *testing.T, dbURL, natsURL string) *process {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := &process{testServer: &testServer{t: t, DB: dbURL, URL: "http://" + addr}, logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "--http-addr", addr)
	p.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "NATS_URL="+natsURL, "SESSIOND_DATA_DIR="+t.TempDir(),
		"SESSIOND_STREAM_REPLICAS=3", "SESSIOND_HEARTBEAT=100ms")
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("sessiond at %s logged:\n%s", p.URL, p.logs.String())
		}
	})
	waitHealthy(t, p.URL)
	return p
}

// isLeader reports whether the process says it runs the relay.
func (p *process) isLeader() bool {
	return strings.Contains(string(p.do("GET", "/metrics", "", "").Body), "\nsessiond_broadcast_leader 1\n")
}

// TestClusterRelayLeaderKill9: two sessiond processes on one database and
// a NATS cluster; the relay leader is killed with SIGKILL in the middle of
// a stream of revocations sent to it. The other process takes over the
// relay and the heartbeat, and every revocation in the log — including any
// the dead process committed without answering — reaches the verifiers
// behind the leaf node.
func TestClusterRelayLeaderKill9(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	leaf := c.StartLeaf(t)
	pool, dbURL := pgtest.NewPool(t)
	a, b := startProcess(t, dbURL, c.URL()), startProcess(t, dbURL, c.URL())
	a.Pool, b.Pool = pool, pool
	key := a.key("ops")
	var leader, other *process
	checkFor(t, 20*time.Second, func() error {
		la, lb := a.isLeader(), b.isLeader()
		switch {
		case la && !lb:
			leader, other = a, b
		case lb && !la:
			leader, other = b, a
		default:
			return fmt.Errorf("leaders: a %v, b %v", la, lb)
		}
		return nil
	})
	closed := newVerifier(t, leaf.URL(), verifier.WithFailClosed(time.Second))
	open := newVerifier(t, leaf.URL())
	const n = 200
	for _, id := range sessionIDs("k", 0, n) {
		leader.start(key, "alice", id)
	}
	other.start(key, "alice", "k-keep")
	checkFor(t, 10*time.Second, func() error { return closed.Check("k-keep") })

	// Half through the dying leader (killed once 40 got their 200), the
	// rest through the survivor afterwards.
	oks := revocationStream(t, leader.URL, key, "alice", "k", "kill -9 test", n/2, 40, func() {
		if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-leader.exited
	})
	status := revokeAll(t, key, "alice", sessionIDs("k", n/2, n), 0, nil, other.testServer)
	checkFor(t, 20*time.Second, func() error {
		if !other.isLeader() {
			return errors.New("the survivor has not taken over the relay")
		}
		return nil
	})
	rows, err := pool.Query(context.Background(), `SELECT data->>'sessionId' FROM events WHERE type = 'SessionRevoked'`)
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		logged = append(logged, id)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if len(logged) < len(oks)+len(status) {
		t.Fatalf("%d revocations in the log, %d answered 200", len(logged), len(oks)+len(status))
	}
	allRevoked(t, []*verifier.Verifier{closed, open}, logged)
	// The survivor's heartbeat keeps the fail-closed verifier fresh.
	checkFor(t, 10*time.Second, func() error { return closed.Check("k-keep") })
	checkFor(t, 10*time.Second, func() error {
		if m := string(other.do("GET", "/metrics", "", "").Body); !strings.Contains(m, "\nsessiond_broadcast_lag_events 0\n") {
			return errors.New("the relay checkpoint has not reached the head")
		}
		return nil
	})
	t.Logf("%d revocations got 200 from the leader before SIGKILL, %d in the log from it; %d through the survivor",
		len(oks), len(logged)-len(status), len(status))
}
