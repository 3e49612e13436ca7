package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/verifier"
)

var keyPattern = regexp.MustCompile(`sessiond_ak_[0-9A-Za-z]{43}`)

// startEmbedded starts sessiond with no database URL and no NATS URL: the
// SQLite store and NATS embedded, both in dataDir.
func startEmbedded(t *testing.T, dataDir string, extraEnv ...string) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, logs
	vars := map[string]string{"SESSIOND_DATA_DIR": dataDir, "SESSIOND_NATS_LISTEN": "127.0.0.1:0", "SESSIOND_HEARTBEAT": "100ms"}
	for i := 0; i+1 < len(extraEnv); i += 2 {
		vars[extraEnv[i]] = extraEnv[i+1]
	}
	m.Getenv = env(vars)
	m.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := m.Start(context.Background(), []string{"--http-addr", "127.0.0.1:0"}); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{t: t, URL: "http://" + m.Addr(), Data: dataDir, Main: m, Logs: logs}
}

// TestEmbeddedFlow: with no external services, the first run prints an
// admin key; a session is started, revoked, broadcast over the embedded
// NATS and rejected by a verifier. After a restart everything survives,
// no secret is printed, and the chain verifies.
func TestEmbeddedFlow(t *testing.T) {
	dataDir := t.TempDir()
	s := startEmbedded(t, dataDir, patientBroadcast...)
	keys := uniq(keyPattern.FindAllString(s.Logs.String(), -1))
	if len(keys) != 1 || !strings.Contains(s.Logs.String(), "first run") || !strings.Contains(s.Logs.String(), "curl") {
		t.Fatalf("first run printed keys %v; want exactly one, with a curl example:\n%s", keys, s.Logs.String())
	}
	key := keys[0]

	nc, err := nats.Connect(s.Main.NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var v *verifier.Verifier
	checkFor(t, 10*time.Second, func() error { // the stream appears once sessiond has set it up
		v, err = verifier.New(ctx, nc, verifier.WithLoadTimeout(time.Second))
		return err
	})
	defer v.Close()

	mintToken(t, s, key, "alice", "e-1")
	if err := v.Check("e-1"); err != nil {
		t.Fatalf("active session: Check = %v", err)
	}
	r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/e-1", key, `{"reason":"embedded test"}`)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"status":"published"`) {
		t.Fatalf("DELETE = %d %s", r.Status, r.Body)
	}
	checkFor(t, 5*time.Second, func() error { return revokedBy(v, "e-1") })
	s.start(key, "alice", "e-2")
	s.Main.Close()

	again := startEmbedded(t, dataDir)
	if found := keyPattern.FindAllString(again.Logs.String(), -1); len(found) != 0 {
		t.Errorf("second run printed a secret: %v", found)
	}
	got := again.do("GET", "/auth/admin/api/users/alice/sessions/e-1", key, "").json(t)
	if got["status"] != "revoked" || got["reason"] != "embedded test" || got["revokedBy"] != "admin" {
		t.Errorf("after restart e-1 = %v", got)
	}
	if got := again.do("GET", "/auth/admin/api/users/alice/sessions/e-2", key, "").json(t); got["status"] != "active" {
		t.Errorf("after restart e-2 = %v", got)
	}
	out, err := again.cli("audit", "verify")
	if err != nil || !strings.HasPrefix(out, "OK: 4 events verified") {
		t.Errorf("audit verify = %q, %v; want 4 events (key, start, revoke, start)", out, err)
	}
	if out, err := again.cli("keys", "list"); err != nil || !strings.Contains(out, "admin") {
		t.Errorf("keys list = %q, %v", out, err)
	}
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// TestEmbeddedNATSPortTaken: a busy --nats-listen fails start-up with one
// line naming the setting.
func TestEmbeddedNATSPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": t.TempDir(), "SESSIOND_NATS_LISTEN": ln.Addr().String()})
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	err = m.Start(context.Background(), []string{"--http-addr", "127.0.0.1:0"})
	if err == nil {
		m.Close()
		t.Fatal("started with the NATS port taken")
	}
	if !strings.Contains(err.Error(), "--nats-listen (SESSIOND_NATS_LISTEN)") || strings.Contains(err.Error(), "\n") {
		t.Errorf("err = %q; want one line naming --nats-listen", err)
	}
}

// TestEmbeddedKill9: the real binary on the embedded store is killed with
// SIGKILL in the middle of a stream of revocations. After a restart every
// revocation that got 200 is there, and the chain verifies.
func TestEmbeddedKill9(t *testing.T) {
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	start := func() (*exec.Cmd, *syncBuffer, string) {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--http-addr", addr)
		cmd.Env = append(os.Environ(), "DATABASE_URL=", "NATS_URL=", "SESSIOND_DATA_DIR="+dataDir, "SESSIOND_NATS_LISTEN=127.0.0.1:0")
		logs := &syncBuffer{}
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitHealthy(t, "http://"+addr)
		return cmd, logs, "http://" + addr
	}
	cmd, logs, url := start()
	// The key is printed before the server serves, but reaches this
	// process through a pipe: wait for it to arrive.
	var key string
	checkFor(t, 10*time.Second, func() error {
		if key = keyPattern.FindString(logs.String()); key == "" {
			return fmt.Errorf("no first-run key yet:\n%s", logs.String())
		}
		return nil
	})
	s := &testServer{t: t, URL: url, Data: dataDir}
	const sessions = 300
	for i := range sessions {
		s.start(key, "bob", fmt.Sprintf("k-%d", i))
	}
	acked := revocationStream(t, url, key, "bob", "k", "kill test", sessions, 50, func() {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var exit *exec.ExitError
		if err := cmd.Wait(); !errors.As(err, &exit) {
			t.Fatalf("after SIGKILL: %v", err)
		}
	})

	_, logs2, url2 := start()
	if keyPattern.MatchString(logs2.String()) {
		t.Error("the restart printed a secret")
	}
	s.URL = url2
	for _, id := range acked {
		got := s.do("GET", "/auth/admin/api/users/bob/sessions/"+id, key, "").json(t)
		if got["status"] != "revoked" || got["reason"] != "kill test" {
			t.Errorf("%s got 200 before the kill but is %v after", id, got["status"])
		}
	}
	verify := exec.Command(bin, "audit", "verify", "--data-dir", dataDir)
	verify.Env = append(os.Environ(), "DATABASE_URL=")
	out, err := verify.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "OK: ") {
		t.Errorf("audit verify after the kill: %v\n%s", err, out)
	}
	t.Logf("%d of %d revocations got 200 before SIGKILL; all survived", len(acked), sessions)
}

// TestFirstRunKeySurvivesBusyPort: a first run that cannot bind its HTTP
// port fails without using up the one-time admin key; the next run, on a
// free port, prints a key that works.
func TestFirstRunKeySurvivesBusyPort(t *testing.T) {
	dataDir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	logs := &syncBuffer{}
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, logs
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": dataDir, "SESSIOND_NATS_LISTEN": "127.0.0.1:0"})
	m.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	if err := m.Start(context.Background(), []string{"--http-addr", busy.Addr().String()}); err == nil {
		m.Close()
		t.Fatal("started with the HTTP port taken")
	} else if !strings.Contains(err.Error(), "--http-addr") {
		t.Errorf("err = %v; want it to name --http-addr", err)
	}
	if keyPattern.MatchString(logs.String()) {
		t.Errorf("the failed start printed a key it then could not serve:\n%s", logs)
	}

	s := startEmbedded(t, dataDir)
	key := keyPattern.FindString(s.Logs.String())
	if key == "" {
		t.Fatalf("the second run printed no admin key:\n%s", s.Logs.String())
	}
	s.start(key, "alice", "first-1")
}
