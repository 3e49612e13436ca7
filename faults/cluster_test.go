package faults_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/faults"
	"github.com/sessiond/sessiond/internal/auditkey"
	"github.com/sessiond/sessiond/internal/freeport"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/netfault"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// Heartbeat and bound of the run: verifiers go stale after bound without
// a heartbeat (or, with the fixed relay, without the relay catching up).
const (
	heartbeat = 200 * time.Millisecond
	bound     = 2 * time.Second
)

// cluster is the system under test: a restartable PostgreSQL, a
// restartable nats-server with JetStream, sessiond replicas behind
// proxies, and the run's record.
type cluster struct {
	t    *testing.T
	dir  string // the run's files: logs, history
	pg   *pgtest.Cluster
	db   string // direct URL of the sessiond database
	nats *natstest.Server
	reps []*replica
	key  string // admin key with every scope
	jwks string // URL of a copy of the replicas' JWKS
	hist *faults.History
	know *faults.Knowledge
	pem  string // the shared signing key file
	// auditKey is the shared audit signing key file.
	auditKey string
	noteF    *os.File

	mu         sync.Mutex
	violations []faults.Violation
	seen       map[string]bool // dedupe keys of violations
	repeats    map[string]int  // promise and checker → repeats not kept
	kept       map[string]int  // promise and checker → violations kept (at most 100 each)
}

// note appends a line to the nemesis log, stamped with history time.
func (c *cluster) note(format string, args ...any) {
	line := fmt.Sprintf("%10s  %s\n", time.Duration(c.hist.Now()).Round(time.Millisecond), fmt.Sprintf(format, args...))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noteF != nil {
		c.noteF.WriteString(line)
	}
}

// violate records a broken promise. Repeats of the same key (the same
// verifier accepting the same session pass after pass), and any past the
// first 100 of a promise seen by one checker, are counted, not kept.
func (c *cluster) violate(v faults.Violation, key ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := v.Promise + "|" + strings.Join(key, "|")
	if len(key) == 0 {
		k += v.Detail
	}
	kind := v.Promise + " [" + v.Checker + "]"
	if c.seen[k] || c.kept[kind] >= 100 {
		c.repeats[kind]++
		return
	}
	c.seen[k] = true
	c.kept[kind]++
	c.violations = append(c.violations, v)
}

func (c *cluster) Violations() []faults.Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]faults.Violation(nil), c.violations...)
}

// startCluster brings the system up with n replicas, every one ready.
func startCluster(t *testing.T, ctx context.Context, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), hist: faults.NewHistory(), know: faults.NewKnowledge(),
		seen: map[string]bool{}, repeats: map[string]int{}, kept: map[string]int{}}
	f, err := os.Create(filepath.Join(c.dir, "nemesis.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.noteF = f
	t.Cleanup(func() { f.Close() })

	c.pg = pgtest.StartCluster(t)
	c.db = createDatabase(t, c.pg.URL(), "sessiond")
	c.nats = natstest.Start(t)
	c.pem = writeSigningKey(t, c.dir)
	// Replicas share the audit key as they share the token key (one key
	// history in the log); the CLI finds it in c.dir, its data dir.
	c.auditKey = filepath.Join(c.dir, "audit-key.pem")
	if _, err := auditkey.EnsureFile(c.auditKey); err != nil {
		t.Fatal(err)
	}

	out, err := c.cli(c.db, "keys", "create", "--name", "faults", "--scopes", "sessions:read,sessions:write,sessions:revoke,audit:read")
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	c.key = lines[len(lines)-1]

	natsAddr := strings.TrimPrefix(c.nats.URL(), "nats://")
	for i := range n {
		pgp, err := netfault.Start(c.pg.Addr())
		if err != nil {
			t.Fatal(err)
		}
		np, err := netfault.Start(natsAddr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pgp.Close(); np.Close() })
		r := &replica{id: i, addr: freeAddr(t), pgProxy: pgp, natsProxy: np, note: c.note,
			logPath: filepath.Join(c.dir, fmt.Sprintf("replica-%d.log", i))}
		r.env = []string{
			"DATABASE_URL=" + withHost(t, c.db, pgp.Addr()) + "&connect_timeout=3",
			"NATS_URL=nats://" + np.Addr(),
			"SESSIOND_DATA_DIR=" + t.TempDir(),
			"SESSIOND_AUDIT_KEY_FILE=" + c.auditKey,
			"SESSIOND_HEARTBEAT=" + heartbeat.String(),
			"SESSIOND_KEY_RATE=0",
			"SESSIOND_AUTH_FAIL_RATE=0",
			"SESSIOND_SIGNING_KEYS=" + c.pem,
			"SESSIOND_ISSUER=http://sessiond.faults",
			"SESSIOND_LOG_LEVEL=info",
		}
		r.revive()
		go r.supervise(ctx)
		t.Cleanup(r.kill) // before PostgreSQL stops (cleanups run last first)
		c.reps = append(c.reps, r)
	}
	c.waitReady(60 * time.Second)
	c.jwks = serveJWKS(t, c.reps[0].url())
	return c
}

// waitReady waits until every replica answers /readyz.
func (c *cluster) waitReady(d time.Duration) {
	c.t.Helper()
	if err := waitfor.Until(d, func() error {
		for _, r := range c.reps {
			if !r.ready() {
				return fmt.Errorf("replica %d not ready", r.id)
			}
		}
		return nil
	}); err != nil {
		c.t.Fatalf("cluster: %v", err)
	}
}

// cli runs a sessiond command on database db and returns its stdout.
func (c *cluster) cli(db string, args ...string) (string, error) {
	cmd := exec.Command(sessiondBin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+db, "SESSIOND_DATA_DIR="+c.dir, "SESSIOND_SIGNING_KEYS="+c.pem)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func createDatabase(t *testing.T, admin, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

func withHost(t *testing.T, db, host string) string {
	t.Helper()
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
}

func writeSigningKey(t *testing.T, dir string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "signing-key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveJWKS copies the replicas' JWKS once and serves it from the test,
// so token checks do not depend on which replica is up.
func serveJWKS(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks: %d %v", resp.StatusCode, err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// freeAddr returns an address for a replica, which keeps it across the
// nemesis's kills and restarts: a port below the kernel's ephemeral range,
// so no outgoing connection takes it while the replica is down.
func freeAddr(t *testing.T) string {
	t.Helper()
	p, err := freeport.Pick()
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
}
