package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestErrors: every error case answers the contract's DTO with exactly
// the fields statusCode, error, message and code.
func TestErrors(t *testing.T) {
	s := startServer(t)
	full := s.key("ops")
	readOnly := s.key("reader", "sessions:read")
	revoked := s.key("gone")
	s.start(full, "alice", "s-1")
	s.start(full, "bob", "s-bob")
	out, err := s.cli("keys", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " gone ") {
			if _, err := s.cli("keys", "revoke", strings.Fields(line)[0]); err != nil {
				t.Fatal(err)
			}
		}
	}
	one := "/auth/admin/api/users/alice/sessions/s-1"
	huge := `{"reason":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name, method, path, key, body string
		headers                       []string
		status                        int
		code                          string
		message                       string // substring
	}{
		{"bad user id", "DELETE", "/auth/admin/api/users/al%20ice/sessions/s-1", full, "", nil, 400, "VALIDATION_FAILED", "id"},
		{"user id with slash", "DELETE", "/auth/admin/api/users/a%2Fb/sessions/s-1", full, "", nil, 400, "VALIDATION_FAILED", "id"},
		{"long user id", "DELETE", "/auth/admin/api/users/" + strings.Repeat("u", 257) + "/sessions/s-1", full, "", nil, 400, "VALIDATION_FAILED", "id"},
		{"bad session id", "DELETE", "/auth/admin/api/users/alice/sessions/s.1", full, "", nil, 400, "VALIDATION_FAILED", "sessionId"},
		{"bad json", "DELETE", one, full, `{"reason":`, nil, 400, "VALIDATION_FAILED", "JSON"},
		{"not an object", "DELETE", one, full, `["x"]`, nil, 400, "VALIDATION_FAILED", "JSON"},
		{"unknown field", "DELETE", one, full, `{"reason":"x","actor":"me"}`, nil, 400, "VALIDATION_FAILED", "actor"},
		{"trailing data", "DELETE", one, full, `{"reason":"x"} {}`, nil, 400, "VALIDATION_FAILED", "after"},
		{"reason too long", "DELETE", one, full, `{"reason":"` + strings.Repeat("r", 513) + `"}`, nil, 400, "VALIDATION_FAILED", "512"},
		{"bad ttl", "POST", "/auth/admin/api/users/alice/sessions", full, `{"ttlSeconds":0}`, nil, 400, "VALIDATION_FAILED", "ttlSeconds"},
		{"bad status filter", "GET", "/auth/admin/api/users/alice/sessions?status=zombie", full, "", nil, 400, "VALIDATION_FAILED", "status"},
		{"bad limit", "GET", "/auth/admin/api/users/alice/sessions?limit=5000", full, "", nil, 400, "VALIDATION_FAILED", "limit"},
		{"missing key", "DELETE", one, "", "", nil, 401, "ADMIN_SESSION_MISSING", "Bearer"},
		{"not bearer", "DELETE", one, "", "", []string{"Authorization", "Basic b3BzOnB3"}, 401, "ADMIN_SESSION_MISSING", "Bearer"},
		{"invalid key", "DELETE", one, "sessiond_ak_0000000000000000000000000000000000000000000", "", nil, 401, "ADMIN_SESSION_INVALID", "admin key"},
		{"malformed key", "DELETE", one, "hunter2", "", nil, 401, "ADMIN_SESSION_INVALID", "admin key"},
		{"revoked key", "DELETE", one, revoked, "", nil, 401, "ADMIN_SESSION_INVALID", "admin key"},
		{"wrong scope", "DELETE", one, readOnly, "", nil, 403, "FORBIDDEN", "sessions:revoke"},
		{"unknown user", "DELETE", "/auth/admin/api/users/nobody/sessions/s-1", full, "", nil, 404, "USER_NOT_FOUND", "nobody"},
		{"unknown session", "DELETE", "/auth/admin/api/users/alice/sessions/nope", full, "", nil, 404, "SESSION_NOT_FOUND", "nope"},
		{"other user's session", "DELETE", "/auth/admin/api/users/alice/sessions/s-bob", full, "", nil, 404, "SESSION_NOT_FOUND", "s-bob"},
		{"get other user's session", "GET", "/auth/admin/api/users/alice/sessions/s-bob", full, "", nil, 404, "SESSION_NOT_FOUND", "s-bob"},
		{"session id taken", "POST", "/auth/admin/api/users/alice/sessions", full, `{"sessionId":"s-bob"}`, nil, 409, "CONFLICT", "another user"},
		{"unknown route", "GET", "/auth/admin/api/nothing", full, "", nil, 404, "ROUTE_NOT_FOUND", "nothing"},
		{"method", "PUT", one, full, "", nil, 405, "METHOD_NOT_ALLOWED", "PUT"},
		{"method on list", "PATCH", "/auth/admin/api/users/alice/sessions", full, "", nil, 405, "METHOD_NOT_ALLOWED", "PATCH"},
		{"too large", "DELETE", one, full, huge, nil, 413, "PAYLOAD_TOO_LARGE", "65536"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(tc.method, tc.path, tc.key, tc.body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("status = %d %s, want %d", r.Status, r.Body, tc.status)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var dto map[string]any
			if err := json.Unmarshal(r.Body, &dto); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			if len(dto) != 4 || dto["statusCode"] != float64(tc.status) || dto["error"] != http.StatusText(tc.status) || dto["code"] != tc.code {
				t.Errorf("body = %s; want {statusCode:%d, error:%q, message, code:%q}", r.Body, tc.status, http.StatusText(tc.status), tc.code)
			}
			if msg, _ := dto["message"].(string); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q does not mention %q", msg, tc.message)
			}
			if r.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
	// Nothing above was recorded.
	if n := s.count(`type = 'SessionRevoked'`); n != 0 {
		t.Errorf("%d revocations recorded by failed requests", n)
	}
}
