package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/freeport"
	"github.com/sessiond/sessiond/internal/pgtest"
)

// buildBinary compiles cmd/sessiond once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sessiond-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sessiond")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/sessiond/sessiond/cmd/sessiond").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// freeAddr returns a loopback address free now, for a server that must be
// started on a known address (restarts, an issuer URL). internal/freeport
// draws it from below the kernel's ephemeral range (read, not assumed to
// start at 32768), which every ":0" listener and outgoing connection of the
// other tests uses, so none of them can take it before the server binds
// it; nor is it handed out twice in this process.
func freeAddr(t testing.TB) string {
	t.Helper()
	p, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}

// TestSIGTERM: sessiond as a real process gets SIGTERM in the middle of a
// stream of revocations. It exits 0, and every revocation that got 200 is
// in the log.
func TestSIGTERM(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	pool, dbURL := pgtest.NewPool(t)
	s := &testServer{t: t, DB: dbURL, Pool: pool}
	key := s.key("ops")
	addr := freeAddr(t)
	s.URL = "http://" + addr

	cmd := exec.Command(bin, "--http-addr", addr)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SESSIOND_DATA_DIR="+t.TempDir(), "SESSIOND_NATS_LISTEN=127.0.0.1:0")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitHealthy(t, s.URL)

	// Sessions to revoke.
	const sessions = 400
	for i := range sessions {
		s.start(key, "alice", fmt.Sprintf("s-%d", i))
	}
	// Signal once some revocations went through.
	oks := revocationStream(t, s.URL, key, "alice", "s", "shutdown test", sessions, 50, func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("sessiond exited with %v; logs:\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("sessiond did not exit after SIGTERM")
		}
	})
	for _, id := range oks {
		if n := s.count(`type = 'SessionRevoked' AND stream_id = $1`, "session-"+id); n != 1 {
			t.Errorf("%s got 200 but has %d SessionRevoked events", id, n)
		}
	}
	t.Logf("%d of %d revocations got 200; all are in the log", len(oks), sessions)
	if !strings.Contains(logs.String(), "sessiond stopped") {
		t.Errorf("no clean-stop log line:\n%s", logs.String())
	}
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessiond at %s never became ready: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
