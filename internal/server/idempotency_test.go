package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// idemStore is one store under test: a server on it, its admin key, and a
// way to make the next append's outcome unknown to its client (the
// request's deadline passes while the append is being committed; the
// append commits afterwards). The returned func ends the disturbance.
type idemStore struct {
	name    string
	start   func(t *testing.T, extraEnv ...string) (*testServer, string)
	disturb func(t *testing.T, s *testServer, commit time.Duration) (heal func())
}

var idemStores = []idemStore{
	{
		name: "postgres",
		start: func(t *testing.T, extraEnv ...string) (*testServer, string) {
			pool, url := pgtest.NewPool(t)
			s := startServerOn(t, pool, url, extraEnv...)
			return s, s.key("ops")
		},
		// A deferred constraint trigger makes COMMIT sleep.
		disturb: func(t *testing.T, s *testServer, commit time.Duration) func() {
			exec := func(q string) {
				if _, err := s.Pool.Exec(context.Background(), q); err != nil {
					t.Fatal(err)
				}
			}
			exec(`CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_sleep(` + fmt.Sprint(commit.Seconds()) + `); RETURN NULL; END $$`)
			exec(`CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON events
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()`)
			return func() { exec(`DROP TRIGGER test_slow_commit ON events`) }
		},
	},
	{
		name: "embedded",
		start: func(t *testing.T, extraEnv ...string) (*testServer, string) {
			s := startEmbedded(t, t.TempDir(), extraEnv...)
			return s, keyPattern.FindString(s.Logs.String())
		},
		// Another connection holds SQLite's write lock (until healed).
		disturb: func(t *testing.T, s *testServer, _ time.Duration) func() {
			db, err := sqlitestore.OpenDB(filepath.Join(s.Data, "sessiond.db"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
				t.Fatal(err)
			}
			return func() {
				conn.ExecContext(context.Background(), `ROLLBACK`)
				conn.Close()
				db.Close()
			}
		},
	},
}

func forEachStore(t *testing.T, fn func(t *testing.T, st idemStore)) {
	for _, st := range idemStores {
		t.Run(st.name, func(t *testing.T) { fn(t, st) })
	}
}

// sessionsOf returns the ids of a user's sessions.
func sessionsOf(t *testing.T, s *testServer, key, user string) []string {
	t.Helper()
	r := s.do("GET", "/auth/admin/api/users/"+user+"/sessions", key, "")
	if r.Status == http.StatusNotFound {
		return nil
	}
	var body struct {
		Sessions []struct {
			SessionID string `json:"sessionId"`
		} `json:"sessions"`
	}
	jsonUnmarshal(r.Body, &body)
	var ids []string
	for _, s := range body.Sessions {
		ids = append(ids, s.SessionID)
	}
	return ids
}

// TestIdempotentStartAfterUnknownOutcome: a POST without sessionId whose
// outcome its client could not learn (503 OUTCOME_UNKNOWN: the deadline
// passed during COMMIT, and the commit went through) is retried with the
// same Idempotency-Key: the retry answers the original session with 201,
// and the user has exactly one session.
func TestIdempotentStartAfterUnknownOutcome(t *testing.T) {
	forEachStore(t, func(t *testing.T, st idemStore) {
		// The request deadline passes during the slow COMMIT. It leaves the
		// work before COMMIT 2 s, time enough on a loaded machine.
		s, key := st.start(t, "SESSIOND_REQUEST_TIMEOUT", "2s")
		heal := st.disturb(t, s, 3*time.Second)
		path := "/auth/admin/api/users/carol/sessions"
		first := s.do("POST", path, key, `{"ttlSeconds":3600}`, "Idempotency-Key", `"retry-1"`)
		if first.Status != http.StatusServiceUnavailable || first.json(t)["code"] != "OUTCOME_UNKNOWN" {
			t.Fatalf("first attempt = %d %s, want 503 OUTCOME_UNKNOWN", first.Status, first.Body)
		}
		heal()
		var retry response
		waitfor.Cond(t, 20*time.Second, func() error {
			retry = s.do("POST", path, key, `{ "ttlSeconds": 3600 }`, "Idempotency-Key", `"retry-1"`)
			if retry.Status != http.StatusCreated {
				return fmt.Errorf("retry = %d %s", retry.Status, retry.Body)
			}
			return nil
		})
		got := sessionsOf(t, s, key, "carol")
		if len(got) != 1 || got[0] != retry.json(t)["sessionId"] {
			t.Fatalf("carol's sessions = %v after the retry answered %s; want exactly that one", got, retry.Body)
		}
		if tok, _ := retry.json(t)["token"].(string); tok == "" {
			t.Error("the replayed answer carries no token")
		}
		again := s.do("POST", path, key, `{"ttlSeconds":3600}`, "Idempotency-Key", `"retry-1"`)
		if again.Status != http.StatusCreated || again.json(t)["sessionId"] != got[0] || again.json(t)["startedAt"] != retry.json(t)["startedAt"] {
			t.Errorf("second replay = %d %s, want the same 201", again.Status, again.Body)
		}
		if got := sessionsOf(t, s, key, "carol"); len(got) != 1 {
			t.Errorf("carol's sessions = %v, want one", got)
		}
	})
}

// TestIdempotentRevokeReplay: a DELETE repeated with its Idempotency-Key
// answers the original revocation (alreadyRevoked false, same time), not a
// new one, and appends nothing; revoke-all replays likewise.
func TestIdempotentRevokeReplay(t *testing.T) {
	forEachStore(t, func(t *testing.T, st idemStore) {
		s, key := st.start(t)
		s.start(key, "dave", "d-1")
		s.start(key, "dave", "d-2")
		s.start(key, "dave", "d-3")
		one := "/auth/admin/api/users/dave/sessions/d-1"
		first := s.do("DELETE", one, key, `{"reason":"lost phone"}`, "Idempotency-Key", `"rev-1"`)
		if first.Status != 200 || first.json(t)["alreadyRevoked"] != false {
			t.Fatalf("first = %d %s", first.Status, first.Body)
		}
		replay := s.do("DELETE", one, key, `{"reason": "lost phone"}`, "Idempotency-Key", `"rev-1"`)
		f, r := first.json(t), replay.json(t)
		if replay.Status != 200 || r["alreadyRevoked"] != false || r["revokedAt"] != f["revokedAt"] || r["reason"] != "lost phone" {
			t.Errorf("replay = %d %s; want the original answer %s", replay.Status, replay.Body, first.Body)
		}
		if plain := s.do("DELETE", one, key, `{"reason":"lost phone"}`); plain.json(t)["alreadyRevoked"] != true {
			t.Errorf("a DELETE without the key = %s, want alreadyRevoked true", plain.Body)
		}

		all := "/auth/admin/api/users/dave/sessions"
		a1 := s.do("DELETE", all, key, `{"reason":"offboarding"}`, "Idempotency-Key", `"all-1"`)
		a2 := s.do("DELETE", all, key, `{"reason":"offboarding"}`, "Idempotency-Key", `"all-1"`)
		j1, j2 := a1.json(t), a2.json(t)
		if a1.Status != 200 || j1["revoked"] != float64(2) {
			t.Fatalf("revoke-all = %d %s", a1.Status, a1.Body)
		}
		if a2.Status != 200 || j2["revoked"] != float64(2) || j2["correlationId"] != j1["correlationId"] {
			t.Errorf("revoke-all replay = %d %s; want the original %s", a2.Status, a2.Body, a1.Body)
		}
		hist := s.do("GET", "/auth/admin/api/users/dave/sessions/d-2", key, "").json(t)
		if h, _ := hist["history"].([]any); len(h) != 2 {
			t.Errorf("d-2 has %d events after a replayed revoke-all, want 2 (started, revoked)", len(h))
		}
	})
}

// TestIdempotencyKeyErrors: a key reused for another request is 422; a
// malformed key is 400.
func TestIdempotencyKeyErrors(t *testing.T) {
	s := startServer(t)
	key := s.key("ops")
	path := "/auth/admin/api/users/erin/sessions"
	if r := s.do("POST", path, key, `{"sessionId":"e-1"}`, "Idempotency-Key", `"k-1"`); r.Status != http.StatusCreated {
		t.Fatalf("first = %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		name, method, path, body, header string
		status                           int
		code                             string
	}{
		{"other body", "POST", path, `{"sessionId":"e-2"}`, `"k-1"`, 422, "IDEMPOTENCY_KEY_REUSED"},
		{"other route", "DELETE", path + "/e-1", ``, `"k-1"`, 422, "IDEMPOTENCY_KEY_REUSED"},
		{"other user", "POST", "/auth/admin/api/users/frank/sessions", `{"sessionId":"e-1"}`, `"k-1"`, 422, "IDEMPOTENCY_KEY_REUSED"},
		{"not a string", "POST", path, `{}`, `k-1`, 400, "VALIDATION_FAILED"},
		{"empty", "POST", path, `{}`, `""`, 400, "VALIDATION_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(tc.method, tc.path, key, tc.body, "Idempotency-Key", tc.header)
			if r.Status != tc.status || r.json(t)["code"] != tc.code {
				t.Errorf("= %d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	if n := s.count(`type = 'SessionStarted'`); n != 1 {
		t.Errorf("%d sessions started, want 1", n)
	}
}

// TestIdempotencyKeyInFlight: a request whose key another request is still
// working on gets 409 IDEMPOTENCY_KEY_IN_USE.
func TestIdempotencyKeyInFlight(t *testing.T) {
	st := idemStores[0]
	s := startServer(t) // the default 10 s deadline outlasts the slow COMMIT
	key := s.key("ops")
	heal := st.disturb(t, s, 1500*time.Millisecond)
	defer heal()
	path := "/auth/admin/api/users/gina/sessions"
	first := make(chan response, 1)
	go func() { first <- s.do("POST", path, key, `{}`, "Idempotency-Key", `"slow-1"`) }()
	waitfor.Cond(t, 10*time.Second, func() error { // the first is committing
		var n int
		s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'`).Scan(&n)
		if n == 0 {
			return errors.New("no COMMIT under way yet")
		}
		return nil
	})
	if r := s.do("POST", path, key, `{}`, "Idempotency-Key", `"slow-1"`); r.Status != http.StatusConflict || r.json(t)["code"] != "IDEMPOTENCY_KEY_IN_USE" {
		t.Errorf("concurrent retry = %d %s, want 409 IDEMPOTENCY_KEY_IN_USE", r.Status, r.Body)
	}
	if r := <-first; r.Status != http.StatusCreated {
		t.Errorf("first = %d %s", r.Status, r.Body)
	}
}
