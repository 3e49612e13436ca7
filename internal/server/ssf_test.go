package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/ssf/receiver"
)

// ssfReceiver is a push endpoint validating SETs with package receiver. It
// answers failStatus instead while that is set.
type ssfReceiver struct {
	*receiver.Receiver
	srv        *httptest.Server
	failStatus atomic.Int32
	failBody   atomic.Pointer[string] // JSON answered with failStatus
	posts      atomic.Int32

	mu   sync.Mutex
	sets []*receiver.SET
}

const ssfReceiverAuth = "Bearer receiver-secret-1"

// newSSFReceiver validates SETs from the transmitter at issuer, fetching
// keys from jwksURI (as discovered).
func newSSFReceiver(t *testing.T, issuer, jwksURI string) *ssfReceiver {
	t.Helper()
	r := &ssfReceiver{}
	r.srv = httptest.NewServer(nil)
	r.Receiver = receiver.New(receiver.Config{Issuer: issuer, Audience: []string{r.srv.URL}, JWKSURL: jwksURI})
	push := r.Handler(ssfReceiverAuth, func(s *receiver.SET) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.sets = append(r.sets, s)
	})
	r.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.posts.Add(1)
		if st := r.failStatus.Load(); st != 0 {
			_, _ = io.Copy(io.Discard, req.Body)
			if b := r.failBody.Load(); b != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(int(st))
				_, _ = io.WriteString(w, *b)
				return
			}
			w.WriteHeader(int(st))
			return
		}
		push.ServeHTTP(w, req)
	})
	t.Cleanup(r.srv.Close)
	return r
}

// received returns the SETs accepted so far, in arrival order.
func (r *ssfReceiver) received() []*receiver.SET {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sets)
}

// waitSETs waits until at least n SETs were accepted and returns them.
func (r *ssfReceiver) waitSETs(t *testing.T, n int) []*receiver.SET {
	t.Helper()
	waitfor.Cond(t, 10*time.Second, func() error {
		if got := len(r.received()); got < n {
			return fmt.Errorf("%d SETs received, want %d", got, n)
		}
		return nil
	})
	return r.received()
}

func sessionOf(s *receiver.SET) string {
	sess, _ := s.Subject["session"].(map[string]any)
	id, _ := sess["id"].(string)
	return id
}

// ssfServers starts sessiond on a fixed address whose URL is also the
// issuer, on PostgreSQL or on the embedded store.
func ssfServer(t testing.TB, store string) *testServer {
	t.Helper()
	addr := freeAddr(t)
	issuer := "http://" + addr
	if store == "sqlite" {
		return startEmbeddedAt(t, t.TempDir(), addr)
	}
	pool, url := pgtest.NewPool(t)
	return startServerAt(t, pool, url, addr, "SESSIOND_ISSUER", issuer)
}

// startEmbeddedAt starts sessiond on the embedded store in dir, listening
// on addr, which is also its issuer URL.
func startEmbeddedAt(t testing.TB, dir, addr string) *testServer {
	t.Helper()
	issuer := "http://" + addr
	logs := &syncBuffer{}
	m := server.NewMain()
	m.Stdout, m.Stderr = io.Discard, logs
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": dir, "SESSIOND_NATS_LISTEN": "127.0.0.1:0", "SESSIOND_ISSUER": issuer})
	m.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := m.Start(context.Background(), []string{"--http-addr", addr}); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return &testServer{t: t, URL: issuer, Data: dir, Main: m, Logs: logs}
}

// discover reads the transmitter configuration metadata.
func discover(t *testing.T, s *testServer) map[string]any {
	t.Helper()
	r := s.do("GET", "/.well-known/ssf-configuration", "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("ssf-configuration = %d %s", r.Status, r.Body)
	}
	return r.json(t)
}

// createStream creates a stream and returns its configuration.
func createStream(t *testing.T, s *testServer, key, body string) map[string]any {
	t.Helper()
	r := s.do("POST", "/ssf/stream", key, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("create stream = %d %s", r.Status, r.Body)
	}
	return r.json(t)
}

func pushStreamBody(rcv *ssfReceiver) string {
	return fmt.Sprintf(`{"delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":%q,"authorization_header":%q},
		"events_requested":["https://schemas.openid.net/secevent/caep/event-type/session-revoked","urn:example:unknown"],
		"description":"test receiver"}`, rcv.srv.URL, ssfReceiverAuth)
}

// TestSSFPush: discovery, a push stream to a receiver that validates every
// SET; revocations arrive as session-revoked SETs verified via jwks_uri;
// revoke-all's SETs share a txn; verification and stream-updated events;
// pausing holds events and enabling delivers them; a deleted stream
// delivers nothing more.
func TestSSFPush(t *testing.T) {
	for _, store := range []string{"postgres", "sqlite"} {
		t.Run(store, func(t *testing.T) { testSSFPush(t, store) })
	}
}

func testSSFPush(t *testing.T, store string) {
	s := ssfServer(t, store)
	admin := s.key("ops", "sessions:read", "sessions:write", "sessions:revoke")
	rcvKey := s.key("receiver-a", "ssf:manage")

	meta := discover(t, s)
	for k, want := range map[string]string{
		"spec_version": "1_0", "issuer": s.URL, "jwks_uri": s.URL + "/ssf/jwks.json",
		"configuration_endpoint": s.URL + "/ssf/stream", "status_endpoint": s.URL + "/ssf/status",
		"add_subject_endpoint": s.URL + "/ssf/subjects:add", "remove_subject_endpoint": s.URL + "/ssf/subjects:remove",
		"verification_endpoint": s.URL + "/ssf/verify",
	} {
		if got := meta[k]; got != want {
			t.Errorf("metadata %s = %v, want %s", k, got, want)
		}
	}
	if b, _ := json.Marshal(meta["authorization_schemes"]); !strings.Contains(string(b), `"urn:ietf:rfc:6749"`) {
		t.Errorf("authorization_schemes = %s, want urn:ietf:rfc:6749 (CAEP interoperability profile)", b)
	}
	if b, _ := json.Marshal(meta["delivery_methods_supported"]); string(b) != `["urn:ietf:rfc:8935","urn:ietf:rfc:8936"]` {
		t.Errorf("delivery_methods_supported = %s", b)
	}
	if r := s.do("POST", "/ssf/stream", admin, `{}`); r.Status != http.StatusForbidden ||
		!strings.Contains(r.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
		t.Fatalf("create stream without ssf:manage = %d (WWW-Authenticate %q), want 403 with insufficient_scope", r.Status, r.Header.Get("WWW-Authenticate"))
	}
	if r := s.do("GET", "/ssf/stream", "", ""); r.Status != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("no key = %d (WWW-Authenticate %q), want 401 with a Bearer challenge", r.Status, r.Header.Get("WWW-Authenticate"))
	}

	rcvA := newSSFReceiver(t, meta["issuer"].(string), meta["jwks_uri"].(string))
	a := createStream(t, s, rcvKey, pushStreamBody(rcvA))
	idA := a["stream_id"].(string)
	if a["aud"] != rcvA.srv.URL || a["iss"] != s.URL {
		t.Fatalf("stream aud/iss = %v/%v, want %s/%s", a["aud"], a["iss"], rcvA.srv.URL, s.URL)
	}
	if b, _ := json.Marshal(a["events_delivered"]); string(b) != `["https://schemas.openid.net/secevent/caep/event-type/session-revoked"]` {
		t.Fatalf("events_delivered = %s", b)
	}
	if b, _ := json.Marshal(a); strings.Contains(string(b), "receiver-secret") {
		t.Fatalf("stream configuration leaks the authorization header: %s", b)
	}
	auditor := s.key("auditor", "audit:read")
	created := s.do("GET", "/auth/admin/api/audit/events?type=SSFStreamCreated&actor=receiver-a", auditor, "").json(t)
	if evs, _ := created["events"].([]any); len(evs) != 1 {
		t.Fatalf("SSFStreamCreated by receiver-a in the audit log: %v, want 1", created)
	}
	other := s.key("receiver-b", "ssf:manage")
	for _, r := range []response{
		s.do("GET", "/ssf/stream?stream_id="+idA, other, ""),
		s.do("GET", "/ssf/status?stream_id="+idA, other, ""),
		s.do("DELETE", "/ssf/stream?stream_id="+idA, other, ""),
		s.do("POST", "/ssf/verify", other, `{"stream_id":"`+idA+`"}`),
	} {
		if r.Status != http.StatusNotFound {
			t.Fatalf("another key's request on stream A = %d %s, want 404", r.Status, r.Body)
		}
	}
	if r := s.do("GET", "/ssf/stream", other, ""); string(r.Body) != "[]\n" {
		t.Fatalf("another key lists %s, want []", r.Body)
	}
	rcvB := newSSFReceiver(t, s.URL, s.URL+"/ssf/jwks.json")
	idB := createStream(t, s, rcvKey, pushStreamBody(rcvB))["stream_id"].(string)

	// One revocation: one valid session-revoked SET on each stream.
	s.start(admin, "alice", "s-1")
	rev := s.do("DELETE", "/auth/admin/api/users/alice/sessions/s-1", admin, `{"reason":"stolen laptop"}`)
	if rev.Status != http.StatusOK {
		t.Fatalf("revoke = %d %s", rev.Status, rev.Body)
	}
	set := rcvA.waitSETs(t, 1)[0]
	if set.EventType != receiver.SessionRevoked || sessionOf(set) != "s-1" {
		t.Fatalf("SET = %s for %v, want session-revoked for s-1", set.EventType, set.Subject)
	}
	if _, err := verifyRS256(meta["jwks_uri"].(string), set.Raw); err != nil {
		t.Fatalf("SET signature via jwks_uri (standard library): %v", err)
	}
	user, _ := set.Subject["user"].(map[string]any)
	if user["format"] != "iss_sub" || user["sub"] != "alice" || user["iss"] != s.URL {
		t.Errorf("user subject = %v, want iss_sub of alice", user)
	}
	if got := set.Event["reason_admin"].(map[string]any)["en"]; got != "stolen laptop" {
		t.Errorf("reason_admin = %v", got)
	}
	if set.Event["initiating_entity"] != "admin" || set.TXN != rev.Header.Get("X-Request-Id") {
		t.Errorf("initiating_entity %v, txn %q; want admin and the request id %q", set.Event["initiating_entity"], set.TXN, rev.Header.Get("X-Request-Id"))
	}
	rcvB.waitSETs(t, 1)

	// Revoke-all of 5: five SETs sharing the txn.
	for i := range 5 {
		s.start(admin, "bob", fmt.Sprintf("b-%d", i))
	}
	all := s.do("DELETE", "/auth/admin/api/users/bob/sessions", admin, `{"reason":"offboarding"}`)
	if all.Status != http.StatusOK {
		t.Fatalf("revoke-all = %d %s", all.Status, all.Body)
	}
	sets := rcvA.waitSETs(t, 6)[1:]
	corr := all.json(t)["correlationId"]
	for i, set := range sets {
		if set.TXN != corr || sessionOf(set) != fmt.Sprintf("b-%d", i) {
			t.Fatalf("SET %d: txn %q session %s; want txn %v, session b-%d", i, set.TXN, sessionOf(set), corr, i)
		}
	}

	// Verification.
	if r := s.do("POST", "/ssf/verify", rcvKey, `{"stream_id":"`+idA+`","state":"st-1"}`); r.Status != http.StatusNoContent {
		t.Fatalf("verify = %d %s", r.Status, r.Body)
	}
	v := rcvA.waitSETs(t, 7)[6]
	if v.EventType != receiver.Verification || v.Event["state"] != "st-1" || v.Subject["id"] != idA {
		t.Fatalf("verification SET = %s %v %v", v.EventType, v.Event, v.Subject)
	}

	// Pause A: its events are held while B, enabled, gets them.
	if r := s.do("POST", "/ssf/status", rcvKey, `{"stream_id":"`+idA+`","status":"paused","reason":"maintenance"}`); r.Status != http.StatusOK {
		t.Fatalf("pause = %d %s", r.Status, r.Body)
	}
	if st := s.do("GET", "/ssf/status?stream_id="+idA, rcvKey, "").json(t); st["status"] != "paused" || st["reason"] != "maintenance" {
		t.Fatalf("status = %v", st)
	}
	upd := rcvA.waitSETs(t, 8)[7]
	if upd.EventType != receiver.StreamUpdated || upd.Event["status"] != "paused" {
		t.Fatalf("SET after pausing = %s %v, want stream-updated paused", upd.EventType, upd.Event)
	}
	s.start(admin, "carol", "c-1")
	if r := s.do("DELETE", "/auth/admin/api/users/carol/sessions/c-1", admin, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke = %d", r.Status)
	}
	rcvB.waitSETs(t, 7)
	if got := len(rcvA.received()); got != 8 {
		t.Fatalf("paused stream received %d SETs, want 8 (held)", got)
	}
	if r := s.do("POST", "/ssf/status", rcvKey, `{"stream_id":"`+idA+`","status":"enabled"}`); r.Status != http.StatusOK {
		t.Fatalf("enable = %d %s", r.Status, r.Body)
	}
	after := rcvA.waitSETs(t, 10)[8:]
	if sessionOf(after[0]) != "c-1" || after[1].EventType != receiver.StreamUpdated || after[1].Event["status"] != "enabled" {
		t.Fatalf("after enabling: %s %v, %s %v; want c-1's revocation then stream-updated enabled",
			after[0].EventType, after[0].Subject, after[1].EventType, after[1].Event)
	}

	// Delete A: it delivers nothing more; B still does.
	if r := s.do("DELETE", "/ssf/stream?stream_id="+idA, rcvKey, ""); r.Status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", r.Status, r.Body)
	}
	if r := s.do("GET", "/ssf/stream?stream_id="+idA, rcvKey, ""); r.Status != http.StatusNotFound {
		t.Fatalf("read deleted stream = %d, want 404", r.Status)
	}
	s.start(admin, "dave", "d-1")
	if r := s.do("DELETE", "/auth/admin/api/users/dave/sessions/d-1", admin, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke = %d", r.Status)
	}
	if got := rcvB.waitSETs(t, 8); sessionOf(got[7]) != "d-1" {
		t.Fatalf("stream B's last SET is for %s, want d-1", sessionOf(got[7]))
	}
	if got := len(rcvA.received()); got != 10 {
		t.Fatalf("deleted stream received %d SETs, want 10", got)
	}
	if d := rcvA.Duplicates() + rcvB.Duplicates(); d != 0 {
		t.Fatalf("receivers saw %d duplicate jti", d)
	}
	_ = idB
}
