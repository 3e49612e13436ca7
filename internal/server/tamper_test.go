package server_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/pgtest"
)

// superuser runs statements with the append-only triggers disabled, as a
// database superuser could.
func superuser(t *testing.T, pool *pgxpool.Pool, fn func(tx pgx.Tx)) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	fn(tx)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func sqlExec(t *testing.T, tx pgx.Tx, sql string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// seeded starts sessiond on a fresh database with checkpoints every 5
// events and records a dozen sessions, some revoked.
func seeded(t *testing.T) (*testServer, string) {
	t.Helper()
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "SESSIOND_CHECKPOINT_EVERY", "5")
	key := s.key("ops")
	for i := range 12 {
		s.start(key, "dave", fmt.Sprintf("t-%d", i))
		if i%3 == 0 {
			s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/dave/sessions/t-%d", i), key, `{"reason":"audit test"}`)
		}
	}
	checkFor(t, 10*time.Second, func() error {
		if n := s.count(`type = 'AuditCheckpoint'`); n < 1 {
			return fmt.Errorf("%d checkpoints so far", n)
		}
		return nil
	})
	return s, key
}

func verifyOut(t *testing.T, s *testServer, args ...string) (string, bool) {
	t.Helper()
	out, err := s.cli(append([]string{"audit", "verify"}, args...)...)
	return out, err == nil
}

// TestAuditTamper: any change a superuser makes to an event is found by
// audit verify, which names the position.
func TestAuditTamper(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   int64
		do   func(t *testing.T, tx pgx.Tx)
	}{
		{"modify", 4, func(t *testing.T, tx pgx.Tx) {
			sqlExec(t, tx, `UPDATE events SET data = jsonb_set(data, '{reason}', '"nothing to see"') WHERE position = 4`)
		}},
		{"delete", 4, func(t *testing.T, tx pgx.Tx) { sqlExec(t, tx, `DELETE FROM events WHERE position = 4`) }},
		{"insert", 4, func(t *testing.T, tx pgx.Tx) {
			sqlExec(t, tx, `UPDATE events SET position = position + 1000 WHERE position >= 4`)
			sqlExec(t, tx, `INSERT INTO events SELECT 4, 'session-forged', 1, gen_random_uuid(), type, data, metadata, recorded_at, prev_hash, hash FROM events WHERE position = 3`)
			sqlExec(t, tx, `UPDATE events SET position = position - 999 WHERE position >= 1004`)
		}},
		{"reorder", 4, func(t *testing.T, tx pgx.Tx) {
			sqlExec(t, tx, `UPDATE events SET position = position + 1000 WHERE position IN (4, 5)`)
			sqlExec(t, tx, `UPDATE events SET position = CASE position WHEN 1004 THEN 5 ELSE 4 END WHERE position IN (1004, 1005)`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := seeded(t)
			if out, ok := verifyOut(t, s); !ok {
				t.Fatalf("before tampering: %s", out)
			}
			superuser(t, s.Pool, func(tx pgx.Tx) { tc.do(t, tx) })
			out, ok := verifyOut(t, s)
			if ok || !strings.HasPrefix(out, fmt.Sprintf("BROKEN at position %d:", tc.at)) {
				t.Errorf("after %s: ok=%v %q; want BROKEN at position %d", tc.name, ok, out, tc.at)
			}
		})
	}
}

// TestAuditCheckpointCatchesRecompute: a superuser rewrites a revocation's
// reason and recomputes the whole chain, so the chain alone verifies. The
// signed checkpoints made earlier do not: in the log (their signed hashes
// no longer match), after the checkpoints are edited too (their
// signatures no longer match, given the kept audit keys), and from outside (a
// checkpoint the auditor kept).
func TestAuditCheckpointCatchesRecompute(t *testing.T) {
	s, key := seeded(t)
	out, ok := verifyAs(t, s, "", "--audit-keys", s.URL+"/.well-known/sessiond-audit-keys.json")
	if !ok || !strings.Contains(out, "signatures checked") {
		t.Fatalf("before: %s", out)
	}
	// The auditor keeps the head and the newest checkpoint.
	chain := s.do("GET", "/auth/admin/api/audit/chain", key, "").json(t)
	cp, _ := chain["checkpoint"].(map[string]any)
	if cp == nil {
		t.Fatalf("chain has no checkpoint: %v", chain)
	}
	var kept struct{ Signature string }
	kept.Signature = cp["signature"].(string)
	p := auditPage(t, s, key, "type=AuditCheckpoint")
	var last map[string]any
	json.Unmarshal(p.Events[len(p.Events)-1].Data, &last)
	if last["signature"] != kept.Signature {
		t.Errorf("chain's checkpoint is not the newest AuditCheckpoint event")
	}
	if out, ok := verifyAs(t, s, "", "--audit-keys", s.URL+"/.well-known/sessiond-audit-keys.json", "--checkpoint", kept.Signature,
		"--to", fmt.Sprint(chain["position"]), "--expect-hash", chain["hash"].(string)); !ok {
		t.Fatalf("with the kept checkpoint and head: %s", out)
	}
	wrong := strings.Repeat("0", 64)
	if out, ok := verifyOut(t, s, "--to", fmt.Sprint(chain["position"]), "--expect-hash", wrong); ok || !strings.Contains(out, "is not the expected") {
		t.Errorf("a head hash that was never recorded: ok=%v %s", ok, out)
	}
	// The reviewer keeps the audit public keys as a file.
	jwks := keptAuditKeys(t, s)
	s.Main.Close() // the attacker works on a quiet database

	edited := false
	recompute(t, s.Pool, func(r *eventstore.Recorded) {
		if r.Type == "SessionRevoked" && !edited {
			edited = true
			r.Data = []byte(strings.Replace(string(r.Data), `"audit test"`, `"routine cleanup"`, 1))
		}
	})
	if out, _ := s.cli("audit", "verify", "--to", "2"); !strings.HasPrefix(out, "OK") {
		t.Fatalf("the recomputed chain itself verifies: %s", out)
	}
	out, ok = verifyOut(t, s)
	if ok || !strings.HasPrefix(out, "BROKEN at position") || !strings.Contains(out, "changed after it was signed") {
		t.Errorf("recomputed chain with checkpoints in the log: ok=%v %s", ok, out)
	}

	// The attacker also rewrites the checkpoint events' hashes; only the
	// signatures now tell.
	recompute(t, s.Pool, func(r *eventstore.Recorded) {
		if r.Type == "AuditCheckpoint" {
			var cp map[string]any
			json.Unmarshal(r.Data, &cp)
			cp["hash"] = hex.EncodeToString(hashAt(t, s.Pool, int64(cp["position"].(float64))))
			r.Data, _ = json.Marshal(cp)
		}
	})
	out, ok = verifyAs(t, s, "", "--audit-keys", jwks)
	if ok || !strings.Contains(out, "differ from what its signature signs") {
		t.Errorf("checkpoints edited, checked with the kept audit keys: ok=%v %s", ok, out)
	}
	out, ok = verifyAs(t, s, "", "--audit-keys", jwks, "--checkpoint", kept.Signature)
	if ok || !strings.HasPrefix(out, "BROKEN at position") {
		t.Errorf("with the auditor's own checkpoint: ok=%v %s", ok, out)
	}
	out, ok = verifyOut(t, s, "--to", fmt.Sprint(chain["position"]), "--expect-hash", chain["hash"].(string))
	if ok || !strings.HasPrefix(out, "BROKEN at position") {
		t.Errorf("with the recorded head hash: ok=%v %s", ok, out)
	}
}

// recompute applies edit to every event and rewrites the whole chain.
func recompute(t *testing.T, pool *pgxpool.Pool, edit func(*eventstore.Recorded)) {
	t.Helper()
	ctx := context.Background()
	rows, _ := pool.Query(ctx, `SELECT position, stream_id, stream_version, event_id, type, data::text, metadata::text, recorded_at FROM events ORDER BY position`)
	var recs []eventstore.Recorded
	for rows.Next() {
		var r eventstore.Recorded
		var data, meta string
		if err := rows.Scan(&r.Position, &r.StreamID, &r.StreamVersion, &r.EventID, &r.Type, &data, &meta, &r.RecordedAt); err != nil {
			t.Fatal(err)
		}
		r.Data, r.Metadata = []byte(data), []byte(meta)
		recs = append(recs, r)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	superuser(t, pool, func(tx pgx.Tx) {
		prev := eventstore.GenesisHash
		for i := range recs {
			r := &recs[i]
			edit(r)
			r.PrevHash = prev
			h, err := eventstore.ComputeHash(prev, r)
			if err != nil {
				t.Fatal(err)
			}
			r.Hash = h
			prev = r.Hash
			sqlExec(t, tx, `UPDATE events SET data = $2::jsonb, prev_hash = $3, hash = $4 WHERE position = $1`, r.Position, string(r.Data), r.PrevHash, r.Hash)
		}
	})
}

func hashAt(t *testing.T, pool *pgxpool.Pool, pos int64) []byte {
	var h []byte
	if err := pool.QueryRow(context.Background(), `SELECT hash FROM events WHERE position = $1`, pos).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}
