package server_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/pgtest"
)

// TestExportImport: an embedded installation's log moves into PostgreSQL
// with every event, position, time and hash intact; audit verify passes
// there, the same admin key works, a second import is a no-op, and a
// tampered export is refused.
func TestExportImport(t *testing.T) {
	dataDir := t.TempDir()
	emb := startEmbedded(t, dataDir)
	key := keyPattern.FindString(emb.Logs.String())
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		emb.start(key, "carol", id)
	}
	if r := emb.do("DELETE", "/auth/admin/api/users/carol/sessions/m-2", key, `{"reason":"moving house"}`); r.Status != 200 {
		t.Fatalf("DELETE = %d %s", r.Status, r.Body)
	}
	emb.key("auditor", "audit:read")
	emb.Main.Close()

	export := filepath.Join(t.TempDir(), "log.jsonl")
	personal := filepath.Join(t.TempDir(), "personal.jsonl")
	if _, err := emb.cli("export", "--out", export, "--personal-out", personal); err != nil {
		t.Fatalf("export: %v", err)
	}
	embVerify, err := emb.cli("audit", "verify")
	if err != nil {
		t.Fatal(err)
	}

	pool, dbURL := pgtest.NewPool(t)
	pg := &testServer{t: t, DB: dbURL, Pool: pool}
	rawPersonal, _ := os.ReadFile(personal)
	forged := filepath.Join(t.TempDir(), "forged.jsonl")
	os.WriteFile(forged, []byte(strings.Replace(string(rawPersonal), `"value":"127.0.0.1"`, `"value":"10.6.6.6"`, 1)), 0o600)
	if _, err := pg.cli("import", "--in", export, "--personal-in", forged); err == nil || !strings.Contains(err.Error(), "not the salted hash") {
		t.Errorf("import with a forged personal value: %v; want refused", err)
	}
	out, err := pg.cli("import", "--in", export, "--personal-in", personal)
	if err != nil || !strings.HasPrefix(out, "imported ") || !strings.Contains(out, "chain OK") || !strings.Contains(out, "personal data items") {
		t.Fatalf("import = %q, %v", out, err)
	}
	// Before anything else is recorded here (audit verify records its run).
	if out, err := pg.cli("import", "--in", export); err != nil || !strings.HasPrefix(out, "imported 0 events (6 already present)") {
		t.Errorf("second import = %q, %v; want a no-op", out, err)
	}
	pgVerify, err := pg.cli("audit", "verify")
	firstLine := func(s string) string { return strings.SplitN(s, "\n", 2)[0] }
	if err != nil || firstLine(pgVerify) != firstLine(embVerify) {
		t.Errorf("audit verify on PostgreSQL = %q, %v; want the embedded store's %q", pgVerify, err, embVerify)
	}
	again := filepath.Join(t.TempDir(), "again.jsonl")
	if _, err := pg.cli("export", "--out", again); err != nil {
		t.Fatal(err)
	}
	// The second export also holds the AuditRead that audit verify on
	// PostgreSQL recorded.
	a, b := readExport(t, export), readExport(t, again)
	if len(a) != 6 || len(b) != len(a)+1 || b[len(a)].Type != "AuditRead" {
		t.Fatalf("exports hold %d and %d events", len(a), len(b))
	}
	for i := range a {
		if !sameEvent(a[i], b[i]) {
			t.Errorf("event %d changed on the way:\n%+v\n%+v", a[i].Position, a[i], b[i])
		}
	}

	s := startServerOn(t, pool, dbURL)
	got := s.do("GET", "/auth/admin/api/users/carol/sessions/m-2", key, "").json(t)
	if got["status"] != "revoked" || got["reason"] != "moving house" {
		t.Errorf("on PostgreSQL m-2 = %v", got)
	}
	if p := auditPage(t, s, key, "sessionId=m-2&type=SessionRevoked"); len(p.Events) != 1 || p.Events[0].Personal["sourceIp"] == nil || *p.Events[0].Personal["sourceIp"] != "127.0.0.1" {
		t.Errorf("personal data did not move with the log: %+v", p.Events)
	}

	raw, _ := os.ReadFile(export)
	tampered := filepath.Join(t.TempDir(), "tampered.jsonl")
	os.WriteFile(tampered, []byte(strings.Replace(string(raw), "moving house", "moving hous3", 1)), 0o600)
	_, fresh := pgtest.NewPool(t)
	target := &testServer{t: t, DB: fresh}
	if out, err := target.cli("import", "--in", tampered); err == nil || !strings.Contains(err.Error(), "broken at position") {
		t.Errorf("tampered import = %q, %v; want refused", out, err)
	}
	if out, _ := target.cli("audit", "verify"); !strings.HasPrefix(out, "OK: 0 events") {
		t.Errorf("after a refused import the target holds %q", out)
	}
}

func readExport(t *testing.T, path string) []eventstore.ExportedEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []eventstore.ExportedEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e eventstore.ExportedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

// sameEvent compares two exported events, JSON bodies by value (jsonb may
// space them differently; the hash covers their canonical form).
func sameEvent(a, b eventstore.ExportedEvent) bool {
	var da, db, ma, mb any
	json.Unmarshal(a.Data, &da)
	json.Unmarshal(b.Data, &db)
	json.Unmarshal(a.Metadata, &ma)
	json.Unmarshal(b.Metadata, &mb)
	a.Data, b.Data, a.Metadata, b.Metadata = nil, nil, nil, nil
	return reflect.DeepEqual(a, b) && reflect.DeepEqual(da, db) && reflect.DeepEqual(ma, mb)
}
