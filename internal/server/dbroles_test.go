package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// serveRole migrates a fresh database as its owner, then creates a role
// with `sessiond db grant --create` and returns the owner's pool and URL,
// and the role's pool and URL. The role is dropped when the test ends.
func serveRole(t *testing.T) (*pgxpool.Pool, string, *pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	pool, ownerURL := pgtest.NewPool(t)
	owner := &testServer{t: t, DB: ownerURL, Pool: pool}
	if _, err := owner.cli("migrate"); err != nil {
		t.Fatalf("migrate as owner: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	role := "sessiond_app_" + hex.EncodeToString(b[:])
	password := "pw-" + hex.EncodeToString(b[:])
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Exec(ctx, "DROP OWNED BY "+role)
		pool.Exec(ctx, "DROP ROLE "+role)
	})
	out, err := owner.cli("db", "grant", "--role", role, "--create", "--password-file", pwFile)
	if err != nil || !strings.Contains(out, role) {
		t.Fatalf("db grant = %q, %v", out, err)
	}
	u, _ := url.Parse(ownerURL)
	u.User = url.UserPassword(role, password)
	roleURL := u.String()
	rolePool, err := pgxpool.New(ctx, roleURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rolePool.Close)
	return pool, ownerURL, rolePool, roleURL
}

// TestServeRole: a role made by `sessiond db grant` serves the whole API
// and runs the keys and audit commands, yet is refused every way of
// rewriting the log; as it does not own the tables it never migrates, and
// with a migration pending the server it runs is not ready.
func TestServeRole(t *testing.T) {
	ctx := context.Background()
	pool, _, rolePool, roleURL := serveRole(t)

	for _, st := range []string{
		"UPDATE events SET type = type",
		"DELETE FROM events",
		"TRUNCATE events",
		"ALTER TABLE events DISABLE TRIGGER ALL",
		"ALTER TABLE events DISABLE TRIGGER events_append_only_row",
		"DROP TRIGGER events_append_only_row ON events",
		"UPDATE checkpoints SET position = 0; DELETE FROM checkpoints",
		"CREATE TABLE intruder (x int)",
	} {
		_, err := rolePool.Exec(ctx, st)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as the serve role: %v; want insufficient_privilege (42501)", st, err)
		}
	}

	s := startServerOn(t, rolePool, roleURL, "SESSIOND_CHECKPOINT_EVERY", "5")
	if r := s.do("GET", "/readyz", "", ""); r.Status != http.StatusOK {
		t.Fatalf("readyz = %d %s", r.Status, r.Body)
	}
	key := s.key("ops")
	for i := range 4 {
		s.start(key, "alice", fmt.Sprintf("r-%d", i))
	}
	for _, c := range []struct {
		method, path, body string
		headers            []string
		want               int
	}{
		{"DELETE", "/auth/admin/api/users/alice/sessions/r-0", `{"reason":"role test"}`, nil, 200},
		{"DELETE", "/auth/admin/api/users/alice/sessions/r-0", "", nil, 200},
		{"DELETE", "/auth/admin/api/users/alice/sessions", `{"reason":"all"}`, nil, 200},
		{"GET", "/auth/admin/api/users/alice/sessions", "", nil, 200},
		{"GET", "/auth/admin/api/users/alice/sessions/r-1", "", nil, 200},
		{"GET", "/auth/admin/api/audit/events?userId=alice", "", nil, 200},
		{"GET", "/auth/admin/api/audit/events", "", []string{"Accept", "application/x-ndjson"}, 200},
		{"GET", "/auth/admin/api/audit/events", "", []string{"Accept", "text/csv"}, 200},
		{"GET", "/auth/admin/api/audit/chain", "", nil, 200},
	} {
		if r := s.do(c.method, c.path, key, c.body, c.headers...); r.Status != c.want {
			t.Errorf("%s %s = %d %s; want %d", c.method, c.path, r.Status, r.Body, c.want)
		}
	}
	// The relay upserts its checkpoint; the checkpointer appends signed
	// checkpoints.
	waitfor.Cond(t, 30*time.Second, func() error {
		var relay, signed int64
		if err := rolePool.QueryRow(ctx, `SELECT coalesce((SELECT position FROM checkpoints WHERE name = 'broadcast-relay'), 0),
  (SELECT count(*) FROM events WHERE type = 'AuditCheckpoint')`).Scan(&relay, &signed); err != nil {
			return err
		}
		if relay == 0 || signed == 0 {
			return fmt.Errorf("relay checkpoint %d, %d signed checkpoints", relay, signed)
		}
		return nil
	})
	for _, args := range [][]string{
		{"keys", "list"},
		{"keys", "revoke", keyID(t, s, "ops")},
		{"audit", "verify"},
		{"audit", "export", "--format", "ndjson"},
		{"audit", "erase-personal", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
	} {
		if out, err := s.cli(args...); err != nil {
			t.Errorf("sessiond %s as the serve role: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	waitfor.Cond(t, keyGenerously, refused(s, key))
	if strings.Contains(s.Logs.String(), `"level":"ERROR"`) {
		t.Errorf("the server logged errors:\n%s", s.Logs.String())
	}
	if !strings.Contains(s.Logs.String(), "does not own the tables") {
		t.Errorf("the server did not say it leaves migrations to the owner:\n%s", s.Logs.String())
	}

	// The role never migrates: `sessiond migrate` refuses, and with a
	// migration pending the server starts but is not ready.
	if _, err := s.cli("migrate"); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("migrate as the serve role = %v; want a refusal naming the owner", err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	pending := startServerOn(t, rolePool, roleURL)
	if r := pending.do("GET", "/readyz", "", ""); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "migrations pending") {
		t.Errorf("readyz with a migration pending = %d %s; want 503 naming it", r.Status, r.Body)
	}
	if !strings.Contains(pending.Logs.String(), "migrations pending: run `sessiond migrate` as the owner") {
		t.Errorf("no clear line about pending migrations:\n%s", pending.Logs.String())
	}
}

// TestDBGrantRefusesOwner: db grant will not hand serve privileges to a
// role that could rewrite the log anyway, nor run as a non-owner.
func TestDBGrantRefusesOwner(t *testing.T) {
	_, ownerURL, _, roleURL := serveRole(t)
	owner := &testServer{t: t, DB: ownerURL}
	if _, err := owner.cli("db", "grant", "--role", "postgres"); err == nil || !strings.Contains(err.Error(), "superuser") {
		t.Errorf("db grant --role postgres = %v; want a refusal (superuser)", err)
	}
	appRole := &testServer{t: t, DB: roleURL}
	if _, err := appRole.cli("db", "grant", "--role", "whoever"); err == nil || !strings.Contains(err.Error(), "owner") {
		t.Errorf("db grant as the serve role = %v; want a refusal", err)
	}
}

// TestGrantsCoverEveryTable: every table the migrations create has a
// decision in the serve role's grants, so a new table cannot silently
// leave serve without access (or with more than it needs).
func TestGrantsCoverEveryTable(t *testing.T) {
	pool, dbURL := pgtest.NewPool(t)
	owner := &testServer{t: t, DB: dbURL, Pool: pool}
	if _, err := owner.cli("migrate"); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(context.Background(), `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	decided := server.GrantDecisions()
	n := 0
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			t.Fatal(err)
		}
		n++
		if _, ok := decided[table]; !ok {
			t.Errorf("table %s has no serve-role grant decision (internal/server/dbroles.go)", table)
		}
	}
	if err := rows.Err(); err != nil || n < 5 {
		t.Fatalf("%d tables, %v", n, err)
	}
}
