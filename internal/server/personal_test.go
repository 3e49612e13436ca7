package server_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/api"
)

// TestPersonalDataErasure: a request's user agent and source IP are kept
// beside the log; the audit API shows them; erasing them leaves the chain
// (and its head hash) intact and the exports show them as erased.
func TestPersonalDataErasure(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *testServer) {
		key := s.key("ops")
		const ua = "Mozilla/5.0 (carol's phone)"
		r := s.do("POST", "/auth/admin/api/users/carol/sessions", key, `{"sessionId":"pii-1"}`, "User-Agent", ua)
		if r.Status != 201 {
			t.Fatalf("start = %d %s", r.Status, r.Body)
		}
		p := auditPage(t, s, key, "sessionId=pii-1")
		if len(p.Events) != 1 || p.Events[0].Personal["userAgent"] == nil || *p.Events[0].Personal["userAgent"] != ua ||
			p.Events[0].Personal["sourceIp"] == nil || *p.Events[0].Personal["sourceIp"] != "127.0.0.1" {
			t.Fatalf("audit page personal = %+v", p.Events)
		}
		if strings.Contains(string(p.Events[0].Metadata), "Mozilla") {
			t.Errorf("stored metadata holds the user agent: %s", p.Events[0].Metadata)
		}
		hist := s.do("GET", "/auth/admin/api/users/carol/sessions/pii-1", key, "")
		if !strings.Contains(string(hist.Body), `"userAgent":"Mozilla/5.0 (carol's phone)"`) {
			t.Errorf("history does not reveal the user agent: %s", hist.Body)
		}
		before, _ := s.cli("audit", "verify")

		out, err := s.cli("audit", "erase-personal", "--before", time.Now().Add(time.Second).UTC().Format(time.RFC3339))
		if err != nil || !strings.HasPrefix(out, "erased ") || strings.HasPrefix(out, "erased 0 ") {
			t.Fatalf("erase = %q, %v", out, err)
		}
		after, err := s.cli("audit", "verify")
		if err != nil || strings.SplitN(after, "\n", 2)[0] != strings.SplitN(before, "\n", 2)[0] {
			t.Errorf("verify after erasure = %q, %v; want the same as before: %q", after, err, before)
		}
		p = auditPage(t, s, key, "sessionId=pii-1")
		if v, ok := p.Events[0].Personal["userAgent"]; !ok || v != nil {
			t.Errorf("after erasure personal = %+v; want userAgent null", p.Events[0].Personal)
		}
		r = s.do("GET", "/auth/admin/api/audit/events?sessionId=pii-1", key, "", "Accept", api.MediaCSV)
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("csv: %v %d", err, len(rows))
		}
		for i, h := range rows[0] {
			if (h == "userAgent" || h == "sourceIp") && rows[1][i] != api.ErasedValue {
				t.Errorf("csv %s after erasure = %q", h, rows[1][i])
			}
		}
		if out, err := s.cli("audit", "erase-personal"); err == nil {
			t.Errorf("erase with no selection = %q; want a usage error", out)
		}
	})
}
