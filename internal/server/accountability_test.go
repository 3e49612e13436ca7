package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// badKey is well formed but was never issued.
const badKey = "sessiond_ak_0000000000000000000000000000000000000000000"

// denials returns the AccessDenied events of the log, decoded.
func denials(t *testing.T, s *testServer, reader string) []domain.AccessDenied {
	t.Helper()
	var out []domain.AccessDenied
	for _, e := range auditPage(t, s, reader, "type=AccessDenied&limit=1000").Events {
		var d domain.AccessDenied
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestAccessDeniedRecorded: ten bad keys and one key lacking a scope are
// recorded in the log as AccessDenied events with the right counts, the
// route, the scope, request ids and the known key.
func TestAccessDeniedRecorded(t *testing.T) {
	pool, url := pgtest.NewPool(t)
	s := startServerOn(t, pool, url, "SESSIOND_ACCESS_DENIED_INTERVAL", "50ms")
	reader := s.key("reader", "audit:read")
	help := s.key("helpdesk", "sessions:read")
	for i := range 10 {
		if r := s.do("GET", "/auth/admin/api/users/alice/sessions", badKey, "", "X-Request-Id", fmt.Sprintf("guess-%d", i)); r.Status != 401 {
			t.Fatalf("bad key = %d", r.Status)
		}
	}
	if r := s.do("GET", "/auth/admin/api/audit/events", help, "", "X-Request-Id", "nosy-1"); r.Status != 403 {
		t.Fatalf("forbidden = %d", r.Status)
	}
	var invalid, forbidden int64
	var forbiddenEv domain.AccessDenied
	waitfor.Cond(t, 10*time.Second, func() error {
		invalid, forbidden = 0, 0
		for _, d := range denials(t, s, reader) {
			switch d.Code {
			case string(domain.CodeAdminSessionInvalid):
				invalid += d.Count
				if d.Status != 401 || len(d.Routes) != 1 || d.Routes[0] != "GET /auth/admin/api/users/{id}/sessions" ||
					d.Scopes[0] != "sessions:read" || !strings.HasPrefix(d.RequestIDs[0], "guess-") || d.KeyID != "" {
					return fmt.Errorf("bad-key denial = %+v", d)
				}
			case string(domain.CodeForbidden):
				forbidden += d.Count
				forbiddenEv = d
			}
		}
		if invalid != 10 || forbidden != 1 {
			return fmt.Errorf("recorded %d bad keys and %d forbidden, want 10 and 1", invalid, forbidden)
		}
		return nil
	})
	if d := forbiddenEv; d.Status != 403 || d.KeyName != "helpdesk" || d.KeyID == "" || d.Scopes[0] != "audit:read" ||
		d.RequestIDs[0] != "nosy-1" || d.Routes[0] != "GET /auth/admin/api/audit/events" {
		t.Errorf("forbidden denial = %+v", d)
	}
	// The address is recorded as personal data, the actor is the key.
	for _, e := range auditPage(t, s, s.key("dpo", "audit:read", "personal:read"), "type=AccessDenied").Events {
		if e.Personal["sourceIp"] == nil || *e.Personal["sourceIp"] != "127.0.0.1" {
			t.Errorf("denial %d personal = %v", e.Position, e.Personal)
		}
	}
}

// TestAccessDeniedFlood: 10,000 bad keys from 10,000 addresses add at most
// DefaultDenialSources+1 events per flush, and the counts add up.
func TestAccessDeniedFlood(t *testing.T) {
	pool, url := pgtest.NewPool(t)
	s := startServerOn(t, pool, url, "SESSIOND_ACCESS_DENIED_INTERVAL", "1h", "SESSIOND_TRUSTED_PROXIES", "127.0.0.1/32")
	const n = 10_000
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				req, _ := http.NewRequest("GET", s.URL+"/auth/admin/api/users/alice/sessions", nil)
				req.Header.Set("Authorization", "Bearer "+badKey)
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", i/256, i%256))
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 401 {
					errs <- fmt.Errorf("request %d = %d", i, resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	before := s.count(`type = 'AccessDenied'`)
	s.Main.Close() // flushes the interval's denials
	events := s.count(`type = 'AccessDenied'`) - before
	var total, overflow int64
	if err := s.Pool.QueryRow(context.Background(),
		`SELECT coalesce(sum((data->>'count')::bigint), 0), count(*) FILTER (WHERE (data->>'overflow')::boolean) FROM events WHERE type = 'AccessDenied'`).Scan(&total, &overflow); err != nil {
		t.Fatal(err)
	}
	if events > 101 || total != n || overflow != 1 {
		t.Errorf("flood of %d bad keys: %d events (bound 101), counts sum to %d, %d overflow events", n, events, total, overflow)
	}
	t.Logf("flood of %d bad keys from %d addresses: %d AccessDenied events", n, n, events)
}

// TestAuditReadsRecorded: an audit query, an API export and a CLI export
// each leave an AuditRead with their actor, filters, format and rows.
func TestAuditReadsRecorded(t *testing.T) {
	s := startServer(t)
	ops := s.key("ops")
	s.start(ops, "alice", "r-1")
	reader := s.key("reader", "audit:read")
	auditPage(t, s, reader, "userId=alice")
	if r := s.do("GET", "/auth/admin/api/audit/events?type=SessionStarted", reader, "", "Accept", app.MediaNDJSON); r.Status != 200 {
		t.Fatalf("export = %d", r.Status)
	}
	if _, err := s.cli("audit", "export", "--user", "alice", "--format", "ndjson"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cli("audit", "verify"); err != nil {
		t.Fatal(err)
	}
	type read struct {
		domain.AuditRead
		actor domain.Actor
	}
	var reads []read
	for _, e := range auditPage(t, s, reader, "type=AuditRead").Events {
		var r read
		var m struct{ Actor domain.Actor }
		_ = json.Unmarshal(e.Data, &r.AuditRead)
		_ = json.Unmarshal(e.Metadata, &m)
		r.actor = m.Actor
		reads = append(reads, r)
	}
	if len(reads) != 4 {
		t.Fatalf("%d AuditRead events, want 4: %+v", len(reads), reads)
	}
	q, x, c, v := reads[0], reads[1], reads[2], reads[3]
	if v.Operation != "verify" || v.Via != "cli" || v.Result != "ok" || v.Rows < 5 || v.actor.Kind != "cli" {
		t.Errorf("CLI verify read = %+v", v)
	}
	if q.Operation != "query" || q.Via != "api" || q.Filters["userId"] != "alice" || q.Format != "json" || q.Rows != 1 || q.actor.KeyName != "reader" {
		t.Errorf("query read = %+v", q)
	}
	if x.Operation != "export" || x.Via != "api" || x.Filters["type"] != "SessionStarted" || x.Format != "ndjson" || x.Rows != 1 || !x.Complete || x.actor.KeyName != "reader" {
		t.Errorf("API export read = %+v", x)
	}
	if c.Operation != "export" || c.Via != "cli" || c.Filters["userId"] != "alice" || c.Format != "ndjson" || c.Rows != 1 ||
		c.actor.Kind != "cli" || c.actor.OSUser == "" || c.actor.Host == "" {
		t.Errorf("CLI export read = %+v", c)
	}
}

// TestKeyNamesAndOwners: a key name is never given twice (not even after
// revocation), and a key's owner shows in keys list, revokedByActor and
// the actor of its events.
func TestKeyNamesAndOwners(t *testing.T) {
	s := startServer(t)
	out, err := s.cli("keys", "create", "--name", "alice-ops", "--owner", "alice@example.com", "--scopes", "sessions:write,sessions:revoke,sessions:read")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	if _, err := s.cli("keys", "create", "--name", "alice-ops", "--scopes", "sessions:read"); err == nil || !strings.Contains(err.Error(), "CONFLICT") {
		t.Errorf("duplicate name: %v", err)
	}
	if list, _ := s.cli("keys", "list"); !strings.Contains(list, "alice@example.com") {
		t.Errorf("keys list lacks the owner: %s", list)
	}
	defer func() { // the audit export names the owner too
		out, err := s.cli("audit", "export", "--type", "SessionRevoked", "--format", "csv")
		if err != nil || !strings.Contains(out, ",alice-ops,alice@example.com,") {
			t.Errorf("CSV export lacks the owner: %v\n%s", err, out)
		}
	}()
	s.start(key, "alice", "o-1")
	r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/o-1", key, `{"reason":"left"}`).json(t)
	by, _ := r["revokedByActor"].(map[string]any)
	if r["revokedBy"] != "alice-ops" || by["owner"] != "alice@example.com" || by["keyName"] != "alice-ops" || by["keyId"] == "" {
		t.Errorf("revoke answer revokedBy %v, revokedByActor %v", r["revokedBy"], by)
	}
	list := s.do("GET", "/auth/admin/api/users/alice/sessions", key, "").json(t)
	by, _ = list["sessions"].([]any)[0].(map[string]any)["revokedByActor"].(map[string]any)
	if by["owner"] != "alice@example.com" {
		t.Errorf("listed revokedByActor = %v", by)
	}
	if _, err := s.cli("keys", "revoke", by["keyId"].(string)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cli("keys", "create", "--name", "alice-ops", "--scopes", "sessions:read"); err == nil {
		t.Error("the name of a revoked key was given again")
	}
	if n := s.count(`type = 'AdminKeyRevoked' AND data->'revokedBy'->>'kind' = 'cli' AND data->'revokedBy'->>'osUser' <> ''`); n != 1 {
		t.Errorf("AdminKeyRevoked with a CLI actor: %d, want 1", n)
	}
}

// TestTrustedProxies: X-Forwarded-For names the client only when the peer
// is a trusted proxy.
func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name, trusted, want string
	}{{"trusted", "127.0.0.1/32", "203.0.113.9"}, {"untrusted", "", "127.0.0.1"}} {
		t.Run(tc.name, func(t *testing.T) {
			pool, url := pgtest.NewPool(t)
			var extra []string
			if tc.trusted != "" {
				extra = []string{"SESSIOND_TRUSTED_PROXIES", tc.trusted}
			}
			s := startServerOn(t, pool, url, extra...)
			key := s.key("ops")
			r := s.do("POST", "/auth/admin/api/users/alice/sessions", key, `{"sessionId":"p-1"}`, "X-Forwarded-For", "203.0.113.9")
			if r.Status != 201 {
				t.Fatalf("start = %d", r.Status)
			}
			p := auditPage(t, s, key, "sessionId=p-1")
			if ip := p.Events[0].Personal["sourceIp"]; ip == nil || *ip != tc.want {
				t.Errorf("source IP = %s, want %s", deref(ip), tc.want)
			}
		})
	}
}

// TestPersonalDataNeedsScope: a sessions:read key sees "[redacted]" where
// a personal:read key sees the raw IP and user agent.
func TestPersonalDataNeedsScope(t *testing.T) {
	s := startServer(t)
	ops := s.key("ops")
	s.start(ops, "alice", "h-1")
	help := s.key("helpdesk", "sessions:read")
	body := string(s.do("GET", "/auth/admin/api/users/alice/sessions/h-1", help, "").Body)
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "Go-http-client") || !strings.Contains(body, `"sourceIp":"[redacted]"`) {
		t.Errorf("sessions:read history shows personal data: %s", body)
	}
	body = string(s.do("GET", "/auth/admin/api/users/alice/sessions/h-1", ops, "").Body)
	if !strings.Contains(body, `"sourceIp":"127.0.0.1"`) {
		t.Errorf("personal:read history lacks the IP: %s", body)
	}
	auditor := s.key("auditor", "audit:read")
	csv := string(s.do("GET", "/auth/admin/api/audit/events?sessionId=h-1", auditor, "", "Accept", app.MediaCSV).Body)
	if strings.Contains(csv, "127.0.0.1") || !strings.Contains(csv, "[redacted]") {
		t.Errorf("audit:read export shows personal data: %s", csv)
	}
}

// TestRequireReason: with --require-reason a revocation without a reason
// is 400 and nothing is recorded.
func TestRequireReason(t *testing.T) {
	pool, url := pgtest.NewPool(t)
	s := startServerOn(t, pool, url, "SESSIOND_REQUIRE_REASON", "true")
	key := s.key("ops")
	s.start(key, "alice", "q-1")
	for _, body := range []string{"", `{"reason":"  "}`} {
		if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/q-1", key, body); r.Status != 400 || !strings.Contains(string(r.Body), "reason") {
			t.Errorf("revoke without reason (%q) = %d %s", body, r.Status, r.Body)
		}
	}
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions", key, ""); r.Status != 400 {
		t.Errorf("revoke-all without reason = %d", r.Status)
	}
	if n := s.count(`type = 'SessionRevoked'`); n != 0 {
		t.Errorf("%d revocations recorded", n)
	}
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/q-1", key, `{"reason":"stolen"}`); r.Status != 200 {
		t.Errorf("revoke with a reason = %d %s", r.Status, r.Body)
	}
}

// TestPersonalRetention: personal data older than --personal-retention is
// erased by the server itself, and the erasure is recorded.
func TestPersonalRetention(t *testing.T) {
	pool, url := pgtest.NewPool(t)
	s := startServerOn(t, pool, url, "SESSIOND_PERSONAL_RETENTION", "1s")
	key := s.key("ops")
	s.start(key, "alice", "t-1")
	waitfor.Cond(t, 20*time.Second, func() error {
		p := auditPage(t, s, key, "sessionId=t-1")
		if v, ok := p.Events[0].Personal["sourceIp"]; !ok || v != nil {
			return fmt.Errorf("sourceIp = %s, want erased (null)", deref(v))
		}
		return nil
	})
	if n := s.count(`type = 'PersonalDataErased' AND data->>'trigger' = 'retention' AND (data->>'erased')::int > 0 AND metadata->'actor'->>'kind' = 'system'`); n < 1 {
		t.Errorf("no PersonalDataErased recorded by the retention job")
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
