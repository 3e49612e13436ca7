package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/witness"
)

// backends start sessiond on each store with extra environment.
var backends = []struct {
	name  string
	start func(t *testing.T, env ...string) *testServer
}{
	{"postgres", func(t *testing.T, env ...string) *testServer {
		pool, url := pgtest.NewPool(t)
		return startServerOn(t, pool, url, env...)
	}},
	{"embedded", func(t *testing.T, env ...string) *testServer { return startEmbedded(t, t.TempDir(), env...) }},
}

// eachStore runs fn on both stores.
func eachStore(t *testing.T, fn func(t *testing.T, start func(t *testing.T, env ...string) *testServer)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.start) })
	}
}

// seedAudit records a key, a dozen sessions (every third revoked) and
// waits for at least two checkpoints (the server checkpoints every 5).
func seedAudit(t *testing.T, s *testServer) string {
	t.Helper()
	key := s.key("ops")
	for i := range 12 {
		s.start(key, "dave", fmt.Sprintf("t-%d", i))
		if i%3 == 0 {
			s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/dave/sessions/t-%d", i), key, `{"reason":"audit test"}`)
		}
		if i == 5 || i == 11 { // a checkpoint after each half
			want := i/6 + 1
			checkFor(t, 10*time.Second, func() error {
				if n := len(auditPage(t, s, key, "type=AuditCheckpoint").Events); n < want {
					return fmt.Errorf("%d checkpoints so far", n)
				}
				return nil
			})
		}
	}
	return key
}

// verifyAs runs audit verify against s's database with only the given
// data dir (empty: an auditor's workstation with no keys, and for the
// embedded store a copy of its file) and returns stdout and whether it
// exited 0.
func verifyAs(t *testing.T, s *testServer, dataDir string, args ...string) (string, bool) {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
		if s.DB == "" {
			for _, suffix := range []string{"", "-wal"} {
				if b, err := os.ReadFile(filepath.Join(s.Data, "sessiond.db"+suffix)); err == nil {
					os.WriteFile(filepath.Join(dataDir, "sessiond.db"+suffix), b, 0o600)
				}
			}
		}
	}
	var out, errOut bytes.Buffer
	m := server.NewMain()
	m.Stdout, m.Stderr = &out, &errOut
	m.Getenv = env(map[string]string{"DATABASE_URL": s.DB, "SESSIOND_DATA_DIR": dataDir, "SESSIOND_CHECKPOINT_EVERY": "5"})
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	err := m.Run(context.Background(), append([]string{"audit", "verify"}, args...))
	return out.String() + errOut.String(), err == nil
}

// keptAuditKeys saves the published audit keys as an auditor would.
func keptAuditKeys(t *testing.T, s *testServer) string {
	t.Helper()
	r := s.do("GET", "/.well-known/sessiond-audit-keys.json", "", "")
	if r.Status != 200 || !strings.Contains(string(r.Body), `"kty":"OKP"`) || r.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("audit keys: %d %s", r.Status, r.Body)
	}
	path := filepath.Join(t.TempDir(), "audit-keys.json")
	os.WriteFile(path, r.Body, 0o600)
	return path
}

// natsCheckpoints reads the witness stream, or the stream named by the
// URL's path (nothing while it is unreachable or not created yet).
func natsCheckpoints(t *testing.T, url string) []string {
	t.Helper()
	stream := ""
	if i := strings.LastIndex(url, "/"); i > len("nats://") {
		url, stream = url[:i], url[i+1:]
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return nil
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cps, _ := witness.ReadNATS(context.Background(), js, stream)
	return cps
}

// auditorMirror makes an auditor's own copy of the witness stream, a
// mirror named AUDIT_COPY, waits until it holds n checkpoints, and
// returns the URL that names it.
func auditorMirror(t *testing.T, url string, n int) string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "AUDIT_COPY",
		Mirror: &jetstream.StreamSource{Name: witness.StreamName}}); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if got := len(natsCheckpoints(t, url+"/AUDIT_COPY")); got < n {
			return fmt.Errorf("mirror holds %d of %d", got, n)
		}
		return nil
	})
	return url + "/AUDIT_COPY"
}

func withoutCheckpoints(recs []eventstore.Recorded) []eventstore.Recorded {
	var out []eventstore.Recorded
	for _, r := range recs {
		if r.Type != domain.TypeAuditCheckpoint {
			out = append(out, r)
		}
	}
	return out
}

// TestAuditWitnessCatchesRewrite: the superuser edits an event, deletes
// every AuditCheckpoint, renumbers and recomputes the chain. The log
// alone then verifies; the NATS witness stream and the witness dir, which
// the superuser cannot rewrite, do not.
func TestAuditWitnessCatchesRewrite(t *testing.T) {
	eachStore(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		ns := natstest.Start(t)
		dir := t.TempDir()
		s := start(t, "NATS_URL", ns.URL(), "SESSIOND_CHECKPOINT_EVERY", "5", "SESSIOND_WITNESS_DIR", dir)
		key := seedAudit(t, s)
		checkFor(t, 10*time.Second, func() error {
			inLog := len(auditPage(t, s, key, "type=AuditCheckpoint").Events)
			inNATS := len(natsCheckpoints(t, ns.URL()))
			inDir, _ := witness.ReadDir(dir)
			if inNATS < inLog || len(inDir) < inLog {
				return fmt.Errorf("%d checkpoints in the log, %d in the stream, %d in the dir", inLog, inNATS, len(inDir))
			}
			return nil
		})
		s.Main.Close()
		mirror := auditorMirror(t, ns.URL(), len(natsCheckpoints(t, ns.URL())))
		if out, ok := verifyAs(t, s, s.Data, "--witness", ns.URL(), "--witness-dir", dir, "--witness", mirror); !ok || !strings.Contains(out, "in witness "+ns.URL()) {
			t.Fatalf("before the rewrite: %s", out)
		}

		f := newForger(t, s)
		edited := false
		f.rewrite(withoutCheckpoints(f.events()), func(r *eventstore.Recorded, _ func(int64) []byte) {
			if r.Type == domain.TypeSessionRevoked && !edited {
				edited = true
				var m map[string]any
				json.Unmarshal(r.Metadata, &m)
				m["requestId"] = "forged"
				r.Metadata, _ = json.Marshal(m)
			}
		})
		if out, ok := verifyAs(t, s, s.Data, "--log-only"); !ok || !strings.Contains(out, "checkpoints: 0 in the log") {
			t.Fatalf("without a witness the rewrite goes unseen (expected): %s", out)
		}
		for _, w := range [][]string{{"--witness", ns.URL()}, {"--witness-dir", dir}, {"--witness", mirror}} {
			out, ok := verifyAs(t, s, s.Data, append(w, "--log-only")...)
			if ok || !strings.Contains(out, "is not in the log: the checkpoint was deleted") || !strings.Contains(out, "was changed after it was signed") ||
				!strings.Contains(out, "the change lies in positions") {
				t.Errorf("with %s: ok=%v\n%s", w[0], ok, out)
			}
		}
	})
}

// TestAuditWitnessStreamIsProtected: the witness stream refuses deletes
// and purges.
func TestAuditWitnessStreamIsProtected(t *testing.T) {
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := (&witness.NATS{JS: js}).Witness(ctx, "id-1", "a.b.c"); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, witness.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(ctx, 1); err == nil {
		t.Error("a witnessed checkpoint was deleted")
	}
	if err := st.Purge(ctx); err == nil {
		t.Error("the witness stream was purged")
	}
	if cps, _ := witness.ReadNATS(ctx, js, ""); len(cps) != 1 || cps[0] != "a.b.c" {
		t.Errorf("witness holds %v", cps)
	}
}

// TestAuditForgedCheckpoints: the superuser edits an event, then the hash
// inside each checkpoint (and its link to the previous one) to match the
// recomputed chain. Without keys, verify cannot tell and says so: exit 1
// unless --allow-unsigned. With the audit keys kept earlier it names the
// forged checkpoints.
func TestAuditForgedCheckpoints(t *testing.T) {
	eachStore(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		s := start(t, "SESSIOND_CHECKPOINT_EVERY", "5")
		seedAudit(t, s)
		kept := keptAuditKeys(t, s)
		s.Main.Close()
		f := newForger(t, s)
		edited := false
		f.rewrite(f.events(), func(r *eventstore.Recorded, hashAt func(int64) []byte) {
			switch r.Type {
			case domain.TypeSessionRevoked:
				if !edited {
					edited = true
					r.Data = []byte(strings.Replace(string(r.Data), `"audit test"`, `"routine cleanup"`, 1))
				}
			case domain.TypeAuditCheckpoint:
				var cp domain.AuditCheckpoint
				json.Unmarshal(r.Data, &cp)
				cp.Hash = hex.EncodeToString(hashAt(cp.Position))
				if cp.Previous != nil && cp.Previous.EventPosition > 0 {
					cp.Previous.EventHash = hex.EncodeToString(hashAt(cp.Previous.EventPosition))
				}
				r.Data, _ = json.Marshal(cp)
			}
		})
		out, ok := verifyAs(t, s, "", "--log-only")
		if ok || !strings.HasPrefix(out, "NOT VERIFIED") || !strings.Contains(out, "signatures NOT checked") {
			t.Errorf("no keys at hand: ok=%v\n%s", ok, out)
		}
		if out, ok := verifyAs(t, s, "", "--log-only", "--allow-unsigned"); !ok || !strings.Contains(out, "signatures NOT checked") {
			t.Errorf("--allow-unsigned: ok=%v\n%s", ok, out)
		}
		out, ok = verifyAs(t, s, "", "--log-only", "--audit-keys", kept)
		if ok || !strings.Contains(out, "its fields differ from what its signature signs") || !strings.Contains(out, "AuditCheckpoint, stream audit-checkpoints") {
			t.Errorf("with the kept audit keys: ok=%v\n%s", ok, out)
		}
	})
}

// TestAuditDeletedCheckpoint: one checkpoint is deleted and the log
// renumbered and rechained; the next checkpoint still names it.
func TestAuditDeletedCheckpoint(t *testing.T) {
	eachStore(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
		s := start(t, "SESSIOND_CHECKPOINT_EVERY", "5")
		seedAudit(t, s)
		s.Main.Close()
		f := newForger(t, s)
		recs := f.events()
		for i, r := range recs {
			if r.Type == domain.TypeAuditCheckpoint {
				recs = append(recs[:i:i], recs[i+1:]...)
				break
			}
		}
		f.rewrite(recs, nil)
		out, ok := verifyAs(t, s, s.Data, "--log-only")
		if ok || !strings.Contains(out, "checkpoints were deleted") {
			t.Errorf("ok=%v\n%s", ok, out)
		}
	})
}

// TestAuditDerivedTamper: rows the server trusts but no event stands
// behind are reported, each naming the table and row.
func TestAuditDerivedTamper(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pg, lite  string
		want      []string
		wantNotOK bool
	}{
		{"admin key row", `INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at) VALUES ('backdoor', 'backdoor', ARRAY['sessions:revoke'], repeat('ab', 32), now())`,
			`INSERT INTO admin_keys (key_id, name, scopes, key_hash, created_at) VALUES ('backdoor', 'backdoor', 'sessions:revoke', hex(randomblob(32)), '2026-01-01T00:00:00.000000Z')`,
			[]string{`BROKEN in admin_keys row "backdoor"`, "inserted outside the log"}, true},
		{"un-revoked session", `UPDATE sessions SET revoked_at = NULL, revoked_by_key_id = NULL, revoked_by = NULL, reason = NULL WHERE session_id = 't-0'`,
			`UPDATE sessions SET revoked_at = NULL, revoked_by_key_id = NULL, revoked_by = NULL, reason = NULL WHERE session_id = 't-0'`,
			[]string{`sessions row "t-0" differs from the log`, "revoked_at is NULL, the log says"}, true},
		{"personal data", `UPDATE personal_data SET value = '10.6.6.6' WHERE ref = (SELECT ref FROM personal_data WHERE kind = 'sourceIp' ORDER BY recorded_at LIMIT 1)`,
			`UPDATE personal_data SET value = '10.6.6.6' WHERE ref = (SELECT ref FROM personal_data WHERE kind = 'sourceIp' ORDER BY recorded_at LIMIT 1)`,
			[]string{"no longer matches its salted reference", "metadata.sourceIp of position"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, start func(*testing.T, ...string) *testServer) {
				s := start(t, "SESSIOND_CHECKPOINT_EVERY", "5")
				seedAudit(t, s)
				s.Main.Close()
				if out, ok := verifyAs(t, s, s.Data); !ok {
					t.Fatalf("before: %s", out)
				}
				newForger(t, s).exec(tc.pg, tc.lite)
				out, ok := verifyAs(t, s, s.Data)
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q", w)
					}
				}
				if ok {
					t.Error("exit 0")
				}
				if t.Failed() {
					t.Log(out)
				}
				if out, ok := verifyAs(t, s, s.Data, "--log-only"); !ok {
					t.Errorf("--log-only looks only at the log: %s", out)
				}
			})
		})
	}
}
