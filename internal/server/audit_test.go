package server_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// eachBackend runs fn against sessiond on PostgreSQL and on the embedded
// store.
func eachBackend(t *testing.T, fn func(t *testing.T, s *testServer)) {
	t.Run("postgres", func(t *testing.T) { fn(t, startServer(t)) })
	t.Run("embedded", func(t *testing.T) { fn(t, startEmbedded(t, t.TempDir())) })
}

// auditScenario: ops starts a1, a2, a3 for alice and b1 for bob, revokes
// a1; sec revokes all of alice's sessions; ops revokes b1 with a reason
// that is a spreadsheet formula. It returns the keys and the times
// between the steps.
type auditScenario struct {
	ops, sec, reader, noAudit string
	// afterStarts is when the last start was recorded, afterA1 when a1's
	// revocation was: moments between the steps, read from the log.
	afterStarts, afterA1 time.Time
}

// recordedAt returns when the last event matching query was recorded.
func recordedAt(t *testing.T, s *testServer, key, query string) time.Time {
	t.Helper()
	p := auditPage(t, s, key, query)
	if len(p.Events) == 0 {
		t.Fatalf("no event for %s", query)
	}
	at, err := time.Parse(eventstore.TimeFormat, p.Events[len(p.Events)-1].RecordedAt)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func runAuditScenario(t *testing.T, s *testServer) auditScenario {
	t.Helper()
	sc := auditScenario{ops: s.key("ops"), sec: s.key("sec"), reader: s.key("reader", "audit:read", "personal:read"),
		noAudit: s.key("nope", "sessions:read")}
	for _, id := range []string{"a1", "a2", "a3"} {
		s.start(sc.ops, "alice", id)
	}
	s.start(sc.ops, "bob", "b1")
	sc.afterStarts = recordedAt(t, s, sc.reader, "sessionId=b1")
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/a1", sc.ops, `{"reason":"stolen laptop"}`); r.Status != 200 {
		t.Fatalf("revoke a1: %d %s", r.Status, r.Body)
	}
	sc.afterA1 = recordedAt(t, s, sc.reader, "sessionId=a1&type=SessionRevoked")
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions", sc.sec, `{"reason":"account compromised"}`); r.Status != 200 {
		t.Fatalf("revoke-all: %d %s", r.Status, r.Body)
	}
	if r := s.do("DELETE", "/auth/admin/api/users/bob/sessions/b1", sc.ops, `{"reason":"=HYPERLINK(\"http://evil.test\",\"click\")"}`); r.Status != 200 {
		t.Fatalf("revoke b1: %d %s", r.Status, r.Body)
	}
	return sc
}

func auditPage(t *testing.T, s *testServer, key, query string) api.AuditPage {
	t.Helper()
	r := s.do("GET", "/auth/admin/api/audit/events?"+query, key, "")
	if r.Status != 200 {
		t.Fatalf("audit ?%s = %d %s", query, r.Status, r.Body)
	}
	var p api.AuditPage
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func types(p api.AuditPage) string {
	var out []string
	for _, e := range p.Events {
		var d struct {
			SessionID string `json:"sessionId"`
		}
		json.Unmarshal(e.Data, &d)
		out = append(out, e.Type+":"+d.SessionID)
	}
	return strings.Join(out, " ")
}

func TestAuditEvents(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *testServer) {
		sc := runAuditScenario(t, s)
		for _, tc := range []struct{ query, want string }{
			{"userId=alice", "SessionStarted:a1 SessionStarted:a2 SessionStarted:a3 SessionRevoked:a1 SessionRevoked:a2 SessionRevoked:a3"},
			{"sessionId=b1", "SessionStarted:b1 SessionRevoked:b1"},
			{"type=SessionRevoked&actor=sec", "SessionRevoked:a2 SessionRevoked:a3"},
			{"type=SessionRevoked&actor=ops", "SessionRevoked:a1 SessionRevoked:b1"},
			{"userId=alice&from=" + url.QueryEscape(sc.afterStarts.Format(time.RFC3339Nano)) + "&to=" + url.QueryEscape(sc.afterA1.Add(time.Microsecond).Format(time.RFC3339Nano)), "SessionRevoked:a1"},
			{"type=AdminKeyCreated&limit=2", "AdminKeyCreated: AdminKeyCreated:"},
		} {
			if got := types(auditPage(t, s, sc.reader, tc.query)); got != tc.want {
				t.Errorf("?%s = %q, want %q", tc.query, got, tc.want)
			}
		}
		if p := auditPage(t, s, sc.reader, "type=AdminKeyCreated&limit=2"); p.Next == nil || *p.Next != p.Events[1].Position {
			t.Errorf("a full page's next = %v", p.Next)
		}
		// The revocation shows who, when and why, and its hash.
		p := auditPage(t, s, sc.reader, "sessionId=a1&type=SessionRevoked")
		e := p.Events[0]
		var d map[string]any
		var m map[string]any
		json.Unmarshal(e.Data, &d)
		json.Unmarshal(e.Metadata, &m)
		if d["reason"] != "stolen laptop" || m["actor"].(map[string]any)["keyName"] != "ops" || m["requestId"] == "" || len(e.Hash) != 64 || len(e.PrevHash) != 64 {
			t.Errorf("revocation event = %+v", e)
		}
		// Paging by next returns everything once.
		var all []int64
		next := int64(0)
		for {
			p := auditPage(t, s, sc.reader, fmt.Sprintf("limit=3&afterPosition=%d", next))
			for _, e := range p.Events {
				all = append(all, e.Position)
			}
			if p.Next == nil {
				break
			}
			next = *p.Next
		}
		// Each page read is recorded (AuditRead) after its page, so the
		// last page's own record is the one event the pages did not show.
		chain := s.do("GET", "/auth/admin/api/audit/chain", sc.reader, "").json(t)
		if int64(len(all)) != int64(chain["position"].(float64))-1 || all[0] != 1 || all[len(all)-1] != int64(len(all)) {
			t.Errorf("paged %v; chain head %v", all, chain)
		}
		if out, _ := s.cli("audit", "verify"); !strings.Contains(out, chain["hash"].(string)) {
			t.Errorf("chain head %v is not what audit verify computes: %s", chain, out)
		}
		for _, q := range []string{"from=yesterday", "limit=0", "limit=1001", "afterPosition=-1", "userId=" + url.QueryEscape("a/b")} {
			if r := s.do("GET", "/auth/admin/api/audit/events?"+q, sc.reader, ""); r.Status != 400 || !strings.Contains(string(r.Body), "VALIDATION_FAILED") {
				t.Errorf("?%s = %d %s; want 400", q, r.Status, r.Body)
			}
		}
		if r := s.do("GET", "/auth/admin/api/audit/events", sc.noAudit, ""); r.Status != 403 {
			t.Errorf("without audit:read = %d", r.Status)
		}
		if r := s.do("GET", "/auth/admin/api/audit/chain", "", ""); r.Status != 401 {
			t.Errorf("chain without a key = %d", r.Status)
		}
	})
}

func TestAuditExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *testServer) {
		sc := runAuditScenario(t, s)
		head := int(s.do("GET", "/auth/admin/api/audit/chain", sc.reader, "").json(t)["position"].(float64))

		r := s.do("GET", "/auth/admin/api/audit/events", sc.reader, "", "Accept", app.MediaNDJSON)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), app.MediaNDJSON) {
			t.Fatalf("ndjson: %d %v", r.Status, r.Header)
		}
		sc2 := bufio.NewScanner(bytes.NewReader(r.Body))
		n := 0
		for sc2.Scan() {
			var e app.AuditEvent
			if err := json.Unmarshal(sc2.Bytes(), &e); err != nil || e.Position != int64(n+1) {
				t.Fatalf("ndjson line %d: %v %+v", n+1, err, e)
			}
			n++
		}
		if n != head {
			t.Errorf("ndjson exported %d events, the log has %d", n, head)
		}

		r = s.do("GET", "/auth/admin/api/audit/events?type=SessionRevoked", sc.reader, "", "Accept", "text/csv")
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %v", r.Status, r.Header)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("csv does not parse: %v\n%s", err, r.Body)
		}
		if strings.Join(rows[0], ",") != strings.Join(app.AuditCSVHeader, ",") || len(rows) != 5 {
			t.Fatalf("csv: %d rows, header %v", len(rows), rows[0])
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		byID := map[string][]string{}
		for _, row := range rows[1:] {
			byID[row[col["sessionId"]]] = row
		}
		if got := byID["b1"][col["reason"]]; got != `'=HYPERLINK("http://evil.test","click")` {
			t.Errorf("formula reason exported as %q; want it neutralised with a leading quote", got)
		}
		if row := byID["a1"]; row[col["reason"]] != "stolen laptop" || row[col["actorName"]] != "ops" || row[col["type"]] != "SessionRevoked" {
			t.Errorf("a1 row = %v", row)
		}
		if row := byID["a2"]; row[col["actorName"]] != "sec" || row[col["correlationId"]] == "" {
			t.Errorf("revoke-all row = %v", row)
		}
		r = s.do("GET", "/auth/admin/api/audit/events?userId=nobody", sc.reader, "", "Accept", "text/csv")
		if rows, _ := csv.NewReader(bytes.NewReader(r.Body)).ReadAll(); r.Status != 200 || len(rows) != 1 {
			t.Errorf("empty csv export: %d, %d rows", r.Status, len(rows))
		}
	})
}

// TestAuditAsOf: the session list at a moment, replayed from the log,
// agrees with the recorded history, revoke-all included.
func TestAuditAsOf(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *testServer) {
		sc := runAuditScenario(t, s)
		statuses := func(at time.Time) string {
			q := "/auth/admin/api/users/alice/sessions"
			if !at.IsZero() {
				q += "?asOf=" + url.QueryEscape(at.Format(time.RFC3339Nano))
			}
			r := s.do("GET", q, sc.ops, "")
			if r.Status != 200 {
				t.Fatalf("%s = %d %s", q, r.Status, r.Body)
			}
			var l apiwire.ListResponse
			json.Unmarshal(r.Body, &l)
			var out []string
			for _, x := range l.Sessions {
				out = append(out, x.SessionID+"="+string(x.Status))
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			at   time.Time
			want string
		}{
			{sc.afterStarts.Add(-time.Hour), ""},
			{sc.afterStarts, "a1=active a2=active a3=active"},
			{sc.afterA1, "a1=revoked a2=active a3=active"},
			{time.Now(), "a1=revoked a2=revoked a3=revoked"},
		} {
			if got := statuses(tc.at); got != tc.want {
				t.Errorf("asOf %v = %q, want %q", tc.at, got, tc.want)
			}
		}
		if live, replayed := statuses(time.Time{}), statuses(time.Now()); live != replayed {
			t.Errorf("live list %q differs from replay at now %q", live, replayed)
		}
		r := s.do("GET", "/auth/admin/api/users/alice/sessions?status=active&asOf="+url.QueryEscape(sc.afterA1.Format(time.RFC3339Nano)), sc.ops, "")
		if !strings.Contains(string(r.Body), `"a2"`) || strings.Contains(string(r.Body), `"a1"`) {
			t.Errorf("asOf with status=active = %s", r.Body)
		}
		if r := s.do("GET", "/auth/admin/api/users/alice/sessions?asOf=tuesday", sc.ops, ""); r.Status != 400 {
			t.Errorf("bad asOf = %d", r.Status)
		}
	})
}

// TestAuditCLIExport: sessiond audit export reads the database directly
// (no admin key) with the same filters and formats as the API.
func TestAuditCLIExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *testServer) {
		sc := runAuditScenario(t, s)
		out, err := s.cli("audit", "export", "--user", "alice", "--type", "SessionRevoked", "--format", "csv")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(app.AuditCSVHeader, ",") {
			t.Fatalf("csv export: %v\n%s", err, out)
		}
		viaAPI := s.do("GET", "/auth/admin/api/audit/events?userId=alice&type=SessionRevoked", sc.reader, "", "Accept", "text/csv")
		if string(viaAPI.Body) != out {
			t.Errorf("CLI and API exports differ:\n%s\n%s", out, viaAPI.Body)
		}
		out, err = s.cli("audit", "export", "--from", sc.afterA1.Add(time.Microsecond).Format(time.RFC3339Nano), "--format", "ndjson")
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.Contains(l, `"type":"AuditRead"`) { // the reads are recorded too
				lines = append(lines, l)
			}
		}
		if len(lines) != 3 { // revoke-all's two events and b1's revocation
			t.Errorf("ndjson since afterA1: %d lines\n%s", len(lines), out)
		}
		if _, err := s.cli("audit", "export", "--format", "xml"); err == nil {
			t.Error("--format xml accepted")
		}
	})
}
