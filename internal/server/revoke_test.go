package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRevoke: the seed endpoint on an active session answers 200 with the
// contract's body, and the SessionRevoked row carries actor, reason and
// request id.
func TestRevoke(t *testing.T) {
	s := startServer(t)
	key := s.key("ops")
	s.start(key, "alice", "s-1")

	r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", key, `{"reason":"stolen laptop"}`, "X-Request-Id", "req-42")
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d %s", r.Status, r.Body)
	}
	if got := r.Header.Get("X-Request-Id"); got != "req-42" {
		t.Errorf("X-Request-Id = %q, want the client's", got)
	}
	body := r.json(t)
	want := map[string]any{"sessionId": "s-1", "userId": "alice", "status": "revoked", "revokedBy": "ops",
		"reason": "stolen laptop", "alreadyRevoked": false}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	for _, k := range []string{"startedAt", "expiresAt", "revokedAt"} {
		if _, err := time.Parse(time.RFC3339Nano, body[k].(string)); err != nil {
			t.Errorf("%s = %v is not RFC3339", k, body[k])
		}
	}
	if bc, _ := body["broadcast"].(map[string]any); bc["status"] != "pending" && bc["status"] != "published" {
		t.Errorf("broadcast = %v", body["broadcast"])
	}
	if len(body) != 11 {
		t.Errorf("body has %d fields, want the 8 of the session object, revokedByActor, alreadyRevoked and broadcast: %s", len(body), r.Body)
	}

	var data, meta []byte
	err := s.Pool.QueryRow(context.Background(), `SELECT data, metadata FROM events WHERE type = 'SessionRevoked' AND stream_id = 'session-s-1'`).Scan(&data, &meta)
	if err != nil {
		t.Fatalf("no SessionRevoked row: %v", err)
	}
	var d struct {
		Reason    string
		RevokedBy struct{ KeyID, KeyName string }
	}
	var m struct {
		Actor                          struct{ KeyID, KeyName string }
		RequestID, SourceIP, UserAgent string
	}
	json.Unmarshal(data, &d)
	json.Unmarshal(meta, &m)
	if d.Reason != "stolen laptop" || d.RevokedBy.KeyName != "ops" || d.RevokedBy.KeyID == "" {
		t.Errorf("event data = %s", data)
	}
	if m.Actor.KeyName != "ops" || m.Actor.KeyID != d.RevokedBy.KeyID || m.RequestID != "req-42" ||
		!strings.HasPrefix(m.SourceIP, "pd:") || !strings.HasPrefix(m.UserAgent, "pd:") {
		t.Errorf("event metadata = %s; want actor, request id and personal-data references", meta)
	}
	// The source IP itself is beside the log, under its reference.
	var ip string
	if err := s.Pool.QueryRow(context.Background(), `SELECT value FROM personal_data WHERE ref = $1`, strings.TrimPrefix(m.SourceIP, "pd:")).Scan(&ip); err != nil || ip != "127.0.0.1" {
		t.Errorf("personal data for %s = %q, %v", m.SourceIP, ip, err)
	}
}

// TestRevokeAgain: a second DELETE answers 200 alreadyRevoked with the
// original revocation and appends nothing.
func TestRevokeAgain(t *testing.T) {
	s := startServer(t)
	ops, other := s.key("ops"), s.key("other")
	s.start(ops, "alice", "s-1")
	first := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", ops, `{"reason":"first"}`).json(t)
	r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", other, `{"reason":"second"}`)
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d %s", r.Status, r.Body)
	}
	again := r.json(t)
	if again["alreadyRevoked"] != true || again["reason"] != "first" || again["revokedBy"] != "ops" || again["revokedAt"] != first["revokedAt"] {
		t.Errorf("second DELETE = %s; want alreadyRevoked with the original revocation", r.Body)
	}
	if n := s.count(`type = 'SessionRevoked'`); n != 1 {
		t.Errorf("%d SessionRevoked events, want 1", n)
	}
}

// TestRevokeExpired: an expired session can still be revoked.
func TestRevokeExpired(t *testing.T) {
	s := startServer(t)
	key := s.key("ops")
	r := s.do("POST", "/auth/admin/api/users/alice/sessions", key, `{"sessionId":"short","ttlSeconds":1}`)
	if r.Status != http.StatusCreated {
		t.Fatalf("start = %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := s.do("GET", "/auth/admin/api/users/alice/sessions/short", key, "").json(t)
		if got["status"] == "expired" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session never expired: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r = s.do("DELETE", "/auth/admin/api/users/alice/sessions/short", key, "")
	if r.Status != http.StatusOK || r.json(t)["status"] != "revoked" {
		t.Fatalf("revoke expired = %d %s", r.Status, r.Body)
	}
}

// TestRevokeConcurrent: 100 concurrent DELETEs of one session all get 200
// and append exactly one SessionRevoked.
func TestRevokeConcurrent(t *testing.T) {
	s := startServer(t)
	key := s.key("ops")
	s.start(key, "alice", "hot")
	const n = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh, statuses := 0, map[int]int{}
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/hot", key, `{"reason":"race"}`)
			mu.Lock()
			defer mu.Unlock()
			statuses[r.Status]++
			if r.Status == http.StatusOK && !strings.Contains(string(r.Body), `"alreadyRevoked":true`) {
				fresh++
			}
		}()
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusOK] != n || fresh != 1 {
		t.Errorf("statuses = %v, fresh revocations = %d; want %d × 200 and exactly 1 fresh", statuses, fresh, n)
	}
	if c := s.count(`type = 'SessionRevoked'`); c != 1 {
		t.Errorf("%d SessionRevoked events, want 1", c)
	}
}
