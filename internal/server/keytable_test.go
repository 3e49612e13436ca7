package server_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// forgedKey is a well-formed admin key secret that no event created.
const forgedKey = app.KeyPrefix + "ForgedForgedForgedForgedForgedForgedForged1"

// keyGenerously is how long the tests wait for a key change to reach
// every server: far beyond the stated bound (app.DefaultKeyBound).
const keyGenerously = 30 * time.Second

func wantStatus(t *testing.T, s *testServer, key string, want int, code string) {
	t.Helper()
	r := s.do("GET", "/auth/admin/api/audit/chain", key, "")
	if r.Status != want || (code != "" && r.json(t)["code"] != code) {
		t.Fatalf("GET with key = %d %s; want %d %s", r.Status, r.Body, want, code)
	}
}

// refused reports nil once s answers 401 ADMIN_SESSION_INVALID for key.
func refused(s *testServer, key string) func() error {
	return func() error {
		r := s.do("GET", "/auth/admin/api/audit/chain", key, "")
		if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "ADMIN_SESSION_INVALID") {
			return fmt.Errorf("%s still answers %d %s", s.URL, r.Status, r.Body)
		}
		return nil
	}
}

// TestForgedKeyRowRefused: a row inserted into admin_keys with a valid
// hash but no AdminKeyCreated event authenticates nothing, on both stores;
// nor does a revoked key whose row is un-revoked.
func TestForgedKeyRowRefused(t *testing.T) {
	hash := app.HashSecret(forgedKey)
	t.Run("postgres", func(t *testing.T) {
		s := startServer(t)
		real := s.key("ops")
		wantStatus(t, s, real, http.StatusOK, "")
		if _, err := s.Pool.Exec(context.Background(), `INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at)
VALUES ('forged', 'forged', '{sessions:read,sessions:write,sessions:revoke,audit:read}', $1, now())`, hash); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, s, forgedKey, http.StatusUnauthorized, "ADMIN_SESSION_INVALID")

		// Un-revoking a key in the read model does not bring it back.
		if _, err := s.cli("keys", "revoke", keyID(t, s, "ops")); err != nil {
			t.Fatal(err)
		}
		waitfor.Cond(t, keyGenerously, refused(s, real))
		if _, err := s.Pool.Exec(context.Background(), `UPDATE admin_keys SET revoked_at = NULL`); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, s, real, http.StatusUnauthorized, "ADMIN_SESSION_INVALID")
	})
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		s := startEmbedded(t, dir)
		real := s.key("ops")
		wantStatus(t, s, real, http.StatusOK, "")
		db, err := sqlitestore.OpenDB(filepath.Join(dir, "sessiond.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at)
VALUES ('forged', 'forged', 'sessions:read,sessions:write,sessions:revoke,audit:read', ?, '2026-01-01T00:00:00.000000Z')`, hash); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, s, forgedKey, http.StatusUnauthorized, "ADMIN_SESSION_INVALID")
	})
}

// TestKeysAcrossReplicas: two servers on one PostgreSQL. A key created by
// the CLI (another process) works on both at once; revoked by the CLI, it
// is refused by both within the bound. A replayed revoke changes nothing.
func TestKeysAcrossReplicas(t *testing.T) {
	pool, dbURL := pgtest.NewPool(t)
	a := startServerOn(t, pool, dbURL)
	b := startServerOn(t, pool, dbURL)
	key := a.key("ops")
	for _, s := range []*testServer{a, b} {
		wantStatus(t, s, key, http.StatusOK, "") // no wait: a miss catches up from the log
	}
	if _, err := a.cli("keys", "revoke", keyID(t, a, "ops")); err != nil {
		t.Fatalf("keys revoke: %v", err)
	}
	for _, s := range []*testServer{a, b} {
		waitfor.Cond(t, keyGenerously, refused(s, key))
	}
	other := b.key("other")
	wantStatus(t, a, other, http.StatusOK, "")
	wantStatus(t, b, key, http.StatusUnauthorized, "ADMIN_SESSION_INVALID")
}

// TestEmbeddedKeysFromCLI: on the embedded store, a key the CLI creates
// while the server runs works at once, and one it revokes is refused
// within the bound.
func TestEmbeddedKeysFromCLI(t *testing.T) {
	dir := t.TempDir()
	s := startEmbedded(t, dir)
	key := s.key("ops")
	wantStatus(t, s, key, http.StatusOK, "")
	if _, err := s.cli("keys", "revoke", keyID(t, s, "ops")); err != nil {
		t.Fatalf("keys revoke: %v", err)
	}
	waitfor.Cond(t, keyGenerously, refused(s, key))
}

// keyID finds the id of the key named name with `keys list`.
func keyID(t *testing.T, s *testServer, name string) string {
	t.Helper()
	out, err := s.cli("keys", "list")
	if err != nil {
		t.Fatalf("keys list: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == name {
			return f[0]
		}
	}
	t.Fatalf("no key %q in:\n%s", name, out)
	return ""
}
