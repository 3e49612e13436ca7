package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
)

func TestKeysCLI(t *testing.T) {
	s := &testServer{t: t}
	s.Pool, s.DB = pgtest.NewPool(t)
	out, err := s.cli("keys", "create", "--name", "ops", "--scopes", "sessions:revoke,audit:read")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !regexp.MustCompile(`^sessiond_ak_[0-9A-Za-z]{43}$`).MatchString(secret) {
		t.Fatalf("last line %q is not a key alone", secret)
	}
	var stored string
	if err := s.Pool.QueryRow(context.Background(), `SELECT key_hash FROM admin_keys`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, secret) || len(stored) != 64 {
		t.Errorf("stored %q; want only a SHA-256", stored)
	}
	if n := s.count(`type = 'AdminKeyCreated' AND data::text NOT LIKE '%' || $1 || '%'`, secret); n != 1 {
		t.Errorf("AdminKeyCreated events without the secret = %d, want 1", n)
	}
	list, err := s.cli("keys", "list")
	if err != nil || !strings.Contains(list, "ops") || !strings.Contains(list, "sessions:revoke,audit:read") || strings.Contains(list, secret) {
		t.Fatalf("keys list = %q, %v", list, err)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	if _, err := s.cli("keys", "revoke", id); err != nil {
		t.Fatal(err)
	}
	if n := s.count(`type = 'AdminKeyRevoked'`); n != 1 {
		t.Errorf("%d AdminKeyRevoked events, want 1", n)
	}
	if list, _ = s.cli("keys", "list"); strings.HasSuffix(strings.TrimSpace(strings.Split(list, "\n")[1]), " -") {
		t.Errorf("revoked key still listed as active: %q", list)
	}
	if _, err := s.cli("keys", "revoke", "no-such-key"); err == nil || !strings.Contains(err.Error(), "KEY_NOT_FOUND") {
		t.Errorf("revoking an unknown key: %v", err)
	}
	if _, err := s.cli("keys", "create", "--name", "x", "--scopes", "root"); err == nil || !strings.Contains(err.Error(), "--scopes") {
		t.Errorf("bad scope: %v", err)
	}
}

func TestAuditVerifyCLI(t *testing.T) {
	s := startServer(t)
	key := s.key("ops")
	for _, id := range []string{"a", "b", "c"} {
		s.start(key, "alice", id)
	}
	out, err := s.cli("audit", "verify")
	if err != nil || !strings.HasPrefix(out, "OK: 4 events verified") {
		t.Fatalf("verify intact = %q, %v", out, err)
	}
	if out, err = s.cli("audit", "verify", "--from", "2", "--to", "3"); err != nil || !strings.HasPrefix(out, "OK: 2 events verified") {
		t.Fatalf("verify 2..3 = %q, %v", out, err)
	}
	_, err = s.Pool.Exec(context.Background(), `BEGIN; SET LOCAL session_replication_role = replica;
UPDATE events SET data = jsonb_set(data, '{userId}', '"mallory"') WHERE position = 3; COMMIT`)
	if err != nil {
		t.Fatal(err)
	}
	out, err = s.cli("audit", "verify")
	var exit *server.ExitError
	if !errors.As(err, &exit) || exit.Code != 1 || !strings.Contains(out, "BROKEN at position 3") {
		t.Fatalf("verify tampered = %q, %v; want exit 1 naming position 3", out, err)
	}
}

func TestMigrateAndConfig(t *testing.T) {
	s := &testServer{t: t}
	s.Pool, s.DB = pgtest.NewPool(t)
	if out, err := s.cli("migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate = %q, %v", out, err)
	}
	if n := s.count(`true`); n != 0 {
		t.Errorf("migrate appended %d events", n)
	}
	for _, tc := range []struct {
		args    []string
		setting string
	}{
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--http-addr", "8080"}, "--http-addr"},
		{[]string{"serve", "--database-url", "mysql://x"}, "--database-url"},
		{[]string{"serve", "--nats-url", "http://x"}, "--nats-url"},
		{[]string{"serve", "--key-rate", "-1"}, "key-rate"},
		{[]string{"serve", "--checkpoint-every", "0"}, "checkpoint-every"},
		{[]string{"serve", "--stream-replicas", "6"}, "stream-replicas"},
		{[]string{"serve", "--stream-replicas", "0"}, "stream-replicas"},
		{[]string{"serve", "--admin-oidc-issuer", "https://idp.example"}, "--admin-oidc-audience"},
		{[]string{"serve", "--admin-oidc-issuer", "idp.example", "--admin-oidc-audience", "a"}, "--admin-oidc-issuer"},
		{[]string{"serve", "--admin-oidc-audience", "a"}, "--admin-oidc-issuer"},
		{[]string{"serve", "--admin-oidc-issuer", "https://idp.example", "--admin-oidc-audience", "a", "--admin-oidc-scope-map", "ops=sessions:nuke"}, "--admin-oidc-scope-map"},
		{[]string{"serve", "--admin-oidc-keys-max-age", "soon"}, "admin-oidc-keys-max-age"},
	} {
		if _, err := s.cli(tc.args...); err == nil || !strings.Contains(err.Error(), tc.setting) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: err = %v; want one line naming %s", tc.args, err, tc.setting)
		}
	}
	// No database URL selects the embedded store in the data dir.
	dataDir := t.TempDir()
	m := server.NewMain()
	m.Stdout = io.Discard
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": dataDir})
	if err := m.Run(context.Background(), []string{"migrate"}); err != nil {
		t.Errorf("embedded migrate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "sessiond.db")); err != nil {
		t.Errorf("embedded migrate made no database: %v", err)
	}
	var exit *server.ExitError
	if err := m.Run(context.Background(), []string{"frobnicate"}); !errors.As(err, &exit) || exit.Code != 2 {
		t.Errorf("unknown command: %v", err)
	}
}

// TestBadEnvironment: a malformed value in an environment variable stops
// the command with one line naming the flag and the variable.
func TestBadEnvironment(t *testing.T) {
	for name, setting := range map[string]string{
		"SESSIOND_KEY_RATE":             "--key-rate (SESSIOND_KEY_RATE)",
		"SESSIOND_AUTH_FAIL_RATE":       "--auth-fail-rate (SESSIOND_AUTH_FAIL_RATE)",
		"SESSIOND_CHECKPOINT_EVERY":     "--checkpoint-every (SESSIOND_CHECKPOINT_EVERY)",
		"SESSIOND_CHECKPOINT_INTERVAL":  "--checkpoint-interval (SESSIOND_CHECKPOINT_INTERVAL)",
		"SESSIOND_HEARTBEAT":            "--heartbeat (SESSIOND_HEARTBEAT)",
		"SESSIOND_STREAM_REPLICAS":      "--stream-replicas (SESSIOND_STREAM_REPLICAS)",
		"SESSIOND_STREAM_MAX_CONSUMERS": "--stream-max-consumers (SESSIOND_STREAM_MAX_CONSUMERS)",
	} {
		m := server.NewMain()
		m.Stdout, m.Stderr = io.Discard, io.Discard
		m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": t.TempDir(), name: "abc"})
		err := m.Run(context.Background(), []string{"migrate"})
		if err == nil || !strings.Contains(err.Error(), setting) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=abc: %v; want one line naming %s", name, err, setting)
		}
	}
}

// TestCLIHelpAndArgs: help works on every command; keys revoke takes its
// flags before or after the id; --no-migrate on a fresh embedded data dir
// serves and is not ready.
func TestCLIHelpAndArgs(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"keys", "--help"}, {"audit", "--help"}, {"keys", "create", "--help"}, {"audit", "verify", "--help"}} {
		m := server.NewMain()
		var out bytes.Buffer
		m.Stdout, m.Stderr = &out, &out
		m.Getenv = env(nil)
		if err := m.Run(context.Background(), args); err != nil && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String(), "sessiond") {
			t.Errorf("%v printed no usage: %q", args, out.String())
		}
	}
	dataDir := t.TempDir()
	s := &testServer{t: t, Data: dataDir}
	s.key("ops")
	list, _ := s.cli("keys", "list")
	id := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1])[0]
	if out, err := s.cli("keys", "revoke", id, "--data-dir", dataDir); err != nil || !strings.Contains(out, "revoked admin key "+id) {
		t.Errorf("keys revoke ID --data-dir = %q, %v", out, err)
	}

	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": t.TempDir(), "SESSIOND_NATS_LISTEN": "127.0.0.1:0"})
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	if err := m.Start(context.Background(), []string{"--http-addr", "127.0.0.1:0", "--no-migrate"}); err != nil {
		t.Fatalf("--no-migrate on a fresh data dir: %v", err)
	}
	defer m.Close()
	resp, err := http.Get("http://" + m.Addr() + "/readyz")
	if err != nil || resp.StatusCode != 503 {
		t.Errorf("readyz without migrations = %v, %v; want 503", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}
