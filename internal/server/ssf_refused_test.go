package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/server"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/ssf/receiver"
)

// auditEvents returns the audit API's events of one type.
func auditEvents(t *testing.T, s *testServer, key, typ string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range s.do("GET", "/auth/admin/api/audit/events?type="+typ, key, "").json(t)["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

// TestSSFPushRefused: RFC 8935 error responses. A SET refused with 400
// invalid_request is recorded and skipped; a 401 records the failure and
// pauses the stream, holding the SET until the stream is enabled again.
// Removed subjects get no events.
func TestSSFPushRefused(t *testing.T) {
	s := ssfServer(t, "postgres")
	admin := s.key("ops", "sessions:write", "sessions:revoke", "audit:read")
	rcvKey := s.key("receiver", "ssf:manage")
	rcv := newSSFReceiver(t, s.URL, s.URL+"/ssf/jwks.json")
	id := createStream(t, s, rcvKey, pushStreamBody(rcv))["stream_id"].(string)
	revoke := func(user, sid string) {
		t.Helper()
		s.start(admin, user, sid)
		if r := s.do("DELETE", "/auth/admin/api/users/"+user+"/sessions/"+sid, admin, ""); r.Status != http.StatusOK {
			t.Fatalf("revoke %s = %d", sid, r.Status)
		}
	}
	failed := func(n int) []map[string]any {
		t.Helper()
		var evs []map[string]any
		waitfor.Cond(t, 10*time.Second, func() error {
			if evs = auditEvents(t, s, admin, "SSFDeliveryFailed"); len(evs) < n {
				return fmt.Errorf("%d SSFDeliveryFailed, want %d", len(evs), n)
			}
			return nil
		})
		return evs
	}

	body := `{"err":"invalid_request","description":"cannot parse"}`
	rcv.failBody.Store(&body)
	rcv.failStatus.Store(http.StatusBadRequest)
	revoke("gina", "g-1")
	f := failed(1)[0]["data"].(map[string]any)
	if f["skipped"] != true || f["err"] != "invalid_request" || f["httpStatus"] != float64(400) {
		t.Fatalf("SSFDeliveryFailed = %v, want skipped invalid_request 400", f)
	}
	rcv.failStatus.Store(0)
	revoke("gina", "g-2")
	if got := rcv.waitSETs(t, 1); sessionOf(got[0]) != "g-2" {
		t.Fatalf("first SET received is for %s, want g-2 (g-1 skipped)", sessionOf(got[0]))
	}

	// Removed subjects: gina's events stop; others go on.
	sub := `{"stream_id":"` + id + `","subject":{"format":"iss_sub","iss":"` + s.URL + `","sub":"gina"}}`
	if r := s.do("POST", "/ssf/subjects:remove", rcvKey, sub); r.Status != http.StatusNoContent {
		t.Fatalf("remove subject = %d %s", r.Status, r.Body)
	}
	revoke("gina", "g-3")
	revoke("hank", "h-1")
	if got := rcv.waitSETs(t, 2); sessionOf(got[1]) != "h-1" {
		t.Fatalf("SET after removing gina is for %s, want h-1", sessionOf(got[1]))
	}
	if r := s.do("POST", "/ssf/subjects:add", rcvKey, sub); r.Status != http.StatusOK {
		t.Fatalf("add subject = %d %s", r.Status, r.Body)
	}

	// 401: the stream is paused and the SET held.
	rcv.failBody.Store(nil)
	rcv.failStatus.Store(http.StatusUnauthorized)
	revoke("gina", "g-4")
	f = failed(2)[1]["data"].(map[string]any)
	if f["skipped"] != false || f["httpStatus"] != float64(401) {
		t.Fatalf("SSFDeliveryFailed = %v, want held after 401", f)
	}
	st := s.do("GET", "/ssf/status?stream_id="+id, rcvKey, "").json(t)
	if st["status"] != "paused" || !strings.Contains(fmt.Sprint(st["reason"]), "401") {
		t.Fatalf("status after 401 = %v, want paused naming 401", st)
	}
	rcv.failStatus.Store(0)
	if r := s.do("POST", "/ssf/status", rcvKey, `{"stream_id":"`+id+`","status":"enabled"}`); r.Status != http.StatusOK {
		t.Fatalf("enable = %d", r.Status)
	}
	got := rcv.waitSETs(t, 5)
	if sessionOf(got[2]) != "g-4" || got[3].Event["status"] != "paused" || got[4].Event["status"] != "enabled" {
		t.Fatalf("after enabling: %v %v %v; want g-4, stream-updated paused, stream-updated enabled",
			sessionOf(got[2]), got[3].Event, got[4].Event)
	}
}

// TestSSFReceiveCommand: sessiond ssf-receive discovers the transmitter,
// validates pushed SETs and prints them.
func TestSSFReceiveCommand(t *testing.T) {
	s := ssfServer(t, "sqlite")
	admin := s.key("ops", "sessions:write", "sessions:revoke")
	rcvKey := s.key("receiver", "ssf:manage")
	listen := freeAddr(t)
	out := &syncBuffer{}
	m := server.NewMain()
	m.Stdout, m.Stderr = out, io.Discard
	m.Getenv = env(map[string]string{"SESSIOND_DATA_DIR": t.TempDir()})
	m.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"ssf-receive", "--transmitter", s.URL, "--listen", listen, "--aud", "demo", "--authorization", "Bearer cli-secret"})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ssf-receive: %v", err)
		}
	})
	waitfor.Cond(t, 10*time.Second, func() error {
		_, err := http.Get("http://" + listen + "/")
		return err
	})
	id := createStream(t, s, rcvKey, `{"aud":"demo","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"http://`+listen+`/","authorization_header":"Bearer cli-secret"}}`)["stream_id"].(string)
	if r := s.do("POST", "/ssf/verify", rcvKey, `{"stream_id":"`+id+`","state":"hello-cli"}`); r.Status != http.StatusNoContent {
		t.Fatalf("verify = %d", r.Status)
	}
	s.start(admin, "ivy", "i-1")
	if r := s.do("DELETE", "/auth/admin/api/users/ivy/sessions/i-1", admin, `{"reason":"cli test"}`); r.Status != http.StatusOK {
		t.Fatalf("revoke = %d", r.Status)
	}
	waitfor.Cond(t, 10*time.Second, func() error {
		o := out.String()
		if !strings.Contains(o, `"hello-cli"`) || !strings.Contains(o, receiver.SessionRevoked) || !strings.Contains(o, `"i-1"`) {
			return fmt.Errorf("output so far: %s", o)
		}
		return nil
	})
}
