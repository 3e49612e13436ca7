package server_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/app"
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
		// The log up to the old head is unchanged (verify and the erasure
		// append their own records after it).
		var to int64
		var head string
		if _, err := fmt.Sscanf(before[strings.Index(before, "to "):], "to %d), head hash %s", &to, &head); err != nil {
			t.Fatalf("verify before erasure = %q: %v", before, err)
		}
		after, err := s.cli("audit", "verify", "--to", strconv.FormatInt(to, 10), "--expect-hash", head)
		if err != nil || !strings.HasPrefix(after, "OK: ") {
			t.Errorf("verify after erasure = %q, %v; want the log up to %d unchanged (%s)", after, err, to, before)
		}
		// The erasure is itself recorded, with its criteria, count and actor.
		if er := auditPage(t, s, key, "type=PersonalDataErased"); len(er.Events) != 1 ||
			!strings.Contains(string(er.Events[0].Data), `"trigger":"cli"`) || !strings.Contains(string(er.Events[0].Data), `"before":`) ||
			strings.Contains(string(er.Events[0].Data), `"erased":0`) || !strings.Contains(string(er.Events[0].Metadata), `"kind":"cli"`) {
			t.Errorf("PersonalDataErased events = %+v", er.Events)
		}
		p = auditPage(t, s, key, "sessionId=pii-1")
		if v, ok := p.Events[0].Personal["userAgent"]; !ok || v != nil {
			t.Errorf("after erasure personal = %+v; want userAgent null", p.Events[0].Personal)
		}
		r = s.do("GET", "/auth/admin/api/audit/events?sessionId=pii-1", key, "", "Accept", app.MediaCSV)
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil || len(rows) != 2 {
			t.Fatalf("csv: %v %d", err, len(rows))
		}
		for i, h := range rows[0] {
			if (h == "userAgent" || h == "sourceIp") && rows[1][i] != app.ErasedValue {
				t.Errorf("csv %s after erasure = %q", h, rows[1][i])
			}
		}
		if out, err := s.cli("audit", "erase-personal"); err == nil {
			t.Errorf("erase with no selection = %q; want a usage error", out)
		}
	})
}
