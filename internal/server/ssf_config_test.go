package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/ssf/receiver"
)

// TestSSFStreamConfig: PATCH changes what it names and keeps the rest (a
// new endpoint and authorization header take effect), PUT resets what it
// omits, transmitter-supplied properties cannot change, verification is
// rate limited, and a disabled stream drops events instead of holding
// them.
func TestSSFStreamConfig(t *testing.T) {
	s := ssfServer(t, "sqlite")
	admin := s.key("ops", "sessions:write", "sessions:revoke")
	key := s.key("receiver", "ssf:manage")
	old := newSSFReceiver(t, s.URL, s.URL+"/ssf/jwks.json")
	st := createStream(t, s, key, pushStreamBody(old))
	id := st["stream_id"].(string)
	aud := st["aud"].(string)

	r := s.do("PATCH", "/ssf/stream", key, `{"stream_id":"`+id+`","description":"renamed"}`)
	if got := r.json(t); r.Status != http.StatusOK || got["description"] != "renamed" || got["aud"] != aud {
		t.Fatalf("PATCH description = %d %v", r.Status, got)
	}
	if b, _ := json.Marshal(r.json(t)["events_requested"]); string(b) != `["https://schemas.openid.net/secevent/caep/event-type/session-revoked","urn:example:unknown"]` {
		t.Fatalf("PATCH changed events_requested: %s", b)
	}
	for _, bad := range []string{
		`{"stream_id":"` + id + `","aud":"someone-else"}`,
		`{"stream_id":"` + id + `","iss":"https://evil.example"}`,
		`{"stream_id":"` + id + `","events_delivered":[]}`,
		`{"stream_id":"` + id + `","delivery":{"method":"urn:ietf:rfc:8936"}}`,
		`{"description":"no id"}`,
	} {
		if r := s.do("PATCH", "/ssf/stream", key, bad); r.Status != http.StatusBadRequest {
			t.Fatalf("PATCH %s = %d %s, want 400", bad, r.Status, r.Body)
		}
	}
	if r := s.do("PUT", "/ssf/stream", key, `{"stream_id":"`+id+`"}`); r.Status != http.StatusBadRequest {
		t.Fatalf("PUT without delivery = %d, want 400", r.Status)
	}

	// PUT to a new receiver with a new authorization header: the next SET
	// goes there; events_requested and description were reset.
	moved := newSSFReceiver(t, s.URL, s.URL+"/ssf/jwks.json")
	moved.Receiver = receiver.New(receiver.Config{Issuer: s.URL, Audience: []string{aud}, JWKSURL: s.URL + "/ssf/jwks.json"})
	movedAuth := "Bearer moved-secret"
	moved.srv.Config.Handler = moved.Handler(movedAuth, func(set *receiver.SET) {
		moved.mu.Lock()
		defer moved.mu.Unlock()
		moved.sets = append(moved.sets, set)
	})
	put := `{"stream_id":"` + id + `","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"` + moved.srv.URL + `","authorization_header":"` + movedAuth + `"}}`
	r = s.do("PUT", "/ssf/stream", key, put)
	if got := r.json(t); r.Status != http.StatusOK || got["description"] != nil || len(got["events_requested"].([]any)) != 0 {
		t.Fatalf("PUT = %d %v, want description and events_requested reset", r.Status, got)
	}
	s.start(admin, "jo", "j-1")
	if r := s.do("DELETE", "/auth/admin/api/users/jo/sessions/j-1", admin, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke = %d", r.Status)
	}
	if got := moved.waitSETs(t, 1); sessionOf(got[0]) != "j-1" {
		t.Fatalf("moved receiver got %v", got[0].Subject)
	}

	// Verification is rate limited per stream.
	if r := s.do("POST", "/ssf/verify", key, `{"stream_id":"`+id+`"}`); r.Status != http.StatusNoContent {
		t.Fatalf("verify = %d", r.Status)
	}
	if r := s.do("POST", "/ssf/verify", key, `{"stream_id":"`+id+`"}`); r.Status != http.StatusTooManyRequests {
		t.Fatalf("second verify at once = %d, want 429", r.Status)
	}
	moved.waitSETs(t, 2)

	// Disabled drops: the revocation made while disabled never arrives.
	for _, status := range []string{"disabled", "enabled"} {
		if r := s.do("POST", "/ssf/status", key, `{"stream_id":"`+id+`","status":"`+status+`"}`); r.Status != http.StatusOK {
			t.Fatalf("%s = %d", status, r.Status)
		}
		if status == "disabled" {
			s.start(admin, "jo", "j-2")
			if r := s.do("DELETE", "/auth/admin/api/users/jo/sessions/j-2", admin, ""); r.Status != http.StatusOK {
				t.Fatalf("revoke = %d", r.Status)
			}
		}
	}
	s.start(admin, "jo", "j-3")
	if r := s.do("DELETE", "/auth/admin/api/users/jo/sessions/j-3", admin, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke = %d", r.Status)
	}
	got := moved.waitSETs(t, 5)
	if got[2].Event["status"] != "disabled" || got[3].Event["status"] != "enabled" || sessionOf(got[4]) != "j-3" {
		t.Fatalf("after disable/enable: %v %v %v; want stream-updated disabled, enabled, then j-3 (j-2 dropped)",
			got[2].Event, got[3].Event, sessionOf(got[4]))
	}
	if n := len(old.received()); n != 0 {
		t.Fatalf("the old endpoint received %d SETs after the PUT", n)
	}
}

// TestSSFBadConfiguration: bad SSF settings stop start-up with one line
// naming the setting.
func TestSSFBadConfiguration(t *testing.T) {
	small := t.TempDir() + "/ed25519.pem"
	if err := os.WriteFile(small, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ env, value, want string }{
		{"SESSIOND_SSF_SIGNING_KEYS", "/nonexistent/ssf.pem", "--ssf-signing-keys"},
		{"SESSIOND_SSF_SIGNING_KEYS", small, "want an RSA key"},
		{"SESSIOND_SSF_USER_FORMAT", "phone", "--ssf-user-format"},
		{"SESSIOND_SSF_MIN_VERIFICATION_INTERVAL", "soon", "--ssf-min-verification-interval"},
	} {
		m := server.NewMain()
		m.Stdout, m.Stderr = io.Discard, io.Discard
		m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": t.TempDir(), "SESSIOND_NATS_LISTEN": "127.0.0.1:0", c.env: c.value})
		m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
		err := m.Start(context.Background(), []string{"--http-addr", "127.0.0.1:0"})
		if err == nil {
			m.Close()
			t.Fatalf("%s=%s: started", c.env, c.value)
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s=%s: %q, want one line naming %s", c.env, c.value, err, c.want)
		}
	}
}
