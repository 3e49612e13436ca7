package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/openapitest"
)

// serve sends one request to h and checks the answer against the OpenAPI
// document.
func serve(t testing.TB, h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	openapitest.Check(t, req, rec.Code, rec.Header(), rec.Body.Bytes())
	return rec
}

// TestRecover: a panic becomes 500 INTERNAL, logged once with its stack;
// the client sees neither the stack nor the panic value.
func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	s := api.New(api.Options{Service: &fakeService{panicOn: "explode"}, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	rec := serve(t, s, "DELETE", "/auth/admin/api/users/u1/sessions/explode", "", "Authorization", "Bearer "+fakeKey)
	if rec.Code != 500 {
		t.Fatalf("status = %d", rec.Code)
	}
	var dto api.ErrorResponse
	json.Unmarshal(rec.Body.Bytes(), &dto)
	if dto != (api.ErrorResponse{StatusCode: 500, Error: "Internal Server Error", Message: "internal error", Code: "INTERNAL"}) {
		t.Errorf("body = %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "SELECT") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("body leaks internals: %s", rec.Body)
	}
	if n := strings.Count(logs.String(), `"msg":"panic"`); n != 1 || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panic logged %d times (want once, with a stack):\n%s", n, logs.String())
	}
	// The server keeps serving.
	if rec := serve(t, s, "GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz after a panic = %d", rec.Code)
	}
}

func TestRequestID(t *testing.T) {
	s := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger()})
	if got := serve(t, s, "GET", "/healthz", "", "X-Request-Id", "abc-123").Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("valid id not kept: %q", got)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 200), "<script>"} {
		got := serve(t, s, "GET", "/nope", "", "X-Request-Id", bad).Header().Get("X-Request-Id")
		if got == "" || got == bad {
			t.Errorf("id %q: response id = %q, want a generated one", bad, got)
		}
	}
}

// TestSecretRedacted: admin key secrets render as REDACTED in logs.
func TestSecretRedacted(t *testing.T) {
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("created", "key", app.Secret("sessiond_ak_topsecret"))
	if strings.Contains(logs.String(), "topsecret") || !strings.Contains(logs.String(), "REDACTED") {
		t.Errorf("log = %s", logs.String())
	}
}

// TestStartAndList exercise the remaining handlers' happy paths and bodies.
func TestStartAndList(t *testing.T) {
	s := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger()})
	auth := []string{"Authorization", "Bearer " + fakeKey}
	if rec := serve(t, s, "POST", "/auth/admin/api/users/u1/sessions", `{"sessionId":"s1","metadata":{"ua":"x"}}`, auth...); rec.Code != 201 {
		t.Errorf("start = %d %s", rec.Code, rec.Body)
	}
	if rec := serve(t, s, "POST", "/auth/admin/api/users/u1/sessions", `{"ttlSeconds":5,"expiresAt":"2030-01-01T00:00:00Z"}`, auth...); rec.Code != 400 {
		t.Errorf("ttl and expiresAt = %d", rec.Code)
	}
	rec := serve(t, s, "GET", "/auth/admin/api/users/u1/sessions?status=active&limit=10", "", auth...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"next":null`) {
		t.Errorf("list = %d %s", rec.Code, rec.Body)
	}
	rec = serve(t, s, "DELETE", "/auth/admin/api/users/u1/sessions", `{"reason":"offboarding"}`, auth...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"revoked":1`) {
		t.Errorf("revoke all = %d %s", rec.Code, rec.Body)
	}
}
