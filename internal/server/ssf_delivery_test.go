package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/ssf"
	"github.com/sessiond/sessiond/ssf/receiver"
)

// metric returns the value of one Prometheus sample (name with labels, as
// exposed), or -1 if it is absent.
func metric(t *testing.T, s *testServer, sample string) float64 {
	t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestSSFPushOutageFailover: the receiver answers 503 while two instances
// share the database; only the leader pushes. The leader stops mid-delivery
// and the other takes over; once the receiver answers 202, every SET
// arrives, in order, once — no jti is seen twice.
func TestSSFPushOutageFailover(t *testing.T) {
	pool, url := pgtest.NewPool(t)
	keyFile := filepath.Join(t.TempDir(), "ssf.pem")
	if _, err := ssf.EnsureKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	issuer := "http://" + addr
	env := []string{"SESSIOND_ISSUER", issuer, "SESSIOND_SSF_SIGNING_KEYS", keyFile}
	s1 := startServerAt(t, pool, url, addr, env...)
	admin := s1.key("ops", "sessions:write", "sessions:revoke")
	rcvKey := s1.key("receiver", "ssf:manage")
	// The receiver fetches keys from the instance that survives (in
	// production, the issuer URL reaches whichever instance is up).
	addr2 := freeAddr(t)
	rcv := newSSFReceiver(t, issuer, "http://"+addr2+"/ssf/jwks.json")
	id := createStream(t, s1, rcvKey, pushStreamBody(rcv))["stream_id"].(string)
	waitfor.Cond(t, 10*time.Second, func() error {
		if !s1.Main.SSF().IsLeader() {
			return fmt.Errorf("s1 does not lead")
		}
		return nil
	})
	s2 := startServerAt(t, pool, url, addr2, env...)

	// Both instances up, receiver healthy: one copy of each SET.
	s1.start(admin, "erin", "e-0")
	if r := s1.do("DELETE", "/auth/admin/api/users/erin/sessions/e-0", admin, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke e-0 = %d", r.Status)
	}
	rcv.waitSETs(t, 1)

	// Receiver down; the leader stops mid-delivery; the other takes over.
	rcv.failStatus.Store(http.StatusServiceUnavailable)
	for i := 1; i <= 5; i++ {
		s1.start(admin, "erin", fmt.Sprintf("e-%d", i))
		if r := s1.do("DELETE", fmt.Sprintf("/auth/admin/api/users/erin/sessions/e-%d", i), admin, ""); r.Status != http.StatusOK {
			t.Fatalf("revoke e-%d = %d", i, r.Status)
		}
	}
	waitfor.Cond(t, 10*time.Second, func() error {
		if n := rcv.posts.Load(); n < 3 {
			return fmt.Errorf("%d attempts, want a retry", n)
		}
		return nil
	})
	leader, standby := s1, s2
	if !leader.Main.SSF().IsLeader() || standby.Main.SSF().IsLeader() {
		t.Fatal("want exactly one instance pushing: the first")
	}
	before := rcv.posts.Load()
	leader.Main.Close()
	waitfor.Cond(t, 10*time.Second, func() error {
		if n := rcv.posts.Load(); n <= before {
			return fmt.Errorf("no attempt since the leader stopped (%d)", n)
		}
		return nil
	})
	rcv.failStatus.Store(0)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("standby logs:\n%s", standby.Logs)
		}
	})
	sets := rcv.waitSETs(t, 6)
	waitfor.Cond(t, 10*time.Second, func() error { // the checkpoint passed the last revocation
		var cp, last int64
		if err := pool.QueryRow(t.Context(), `SELECT (SELECT position FROM checkpoints WHERE name = 'ssf-'||$1),
			(SELECT max(position) FROM events WHERE type = 'SessionRevoked')`, id).Scan(&cp, &last); err != nil {
			return err
		}
		if cp < last {
			return fmt.Errorf("checkpoint %d, last revocation %d", cp, last)
		}
		return nil
	})
	sets = rcv.received()
	if len(sets) != 6 || rcv.Duplicates() != 0 {
		t.Fatalf("%d SETs, %d duplicate jti; want 6 and 0", len(sets), rcv.Duplicates())
	}
	for i, set := range sets {
		if got, want := sessionOf(set), fmt.Sprintf("e-%d", i); got != want {
			t.Fatalf("SET %d is for %s, want %s (log order)", i, got, want)
		}
	}
	if v := metric(t, standby, `sessiond_ssf_deliveries_total{stream="`+id+`"}`); v < 6 {
		t.Errorf("deliveries_total = %v, want ≥ 6", v)
	}

	// The last instance restarts mid-delivery: the rest arrives once.
	rcv.failStatus.Store(http.StatusServiceUnavailable)
	for i := 6; i <= 7; i++ {
		standby.start(admin, "erin", fmt.Sprintf("e-%d", i))
		if r := standby.do("DELETE", fmt.Sprintf("/auth/admin/api/users/erin/sessions/e-%d", i), admin, ""); r.Status != http.StatusOK {
			t.Fatalf("revoke e-%d = %d", i, r.Status)
		}
	}
	before = rcv.posts.Load()
	waitfor.Cond(t, 10*time.Second, func() error {
		if n := rcv.posts.Load(); n <= before {
			return fmt.Errorf("no attempt yet")
		}
		return nil
	})
	standby.Main.Close()
	rcv.failStatus.Store(0)
	startServerAt(t, pool, url, addr2, env...)
	sets = rcv.waitSETs(t, 8)
	if len(sets) != 8 || rcv.Duplicates() != 0 || sessionOf(sets[6]) != "e-6" || sessionOf(sets[7]) != "e-7" {
		t.Fatalf("after the restart: %d SETs, %d duplicate jti; want 8 (…, e-6, e-7) and 0", len(sets), rcv.Duplicates())
	}
}

// TestSSFPoll: a poll stream answers SETs until they are acknowledged;
// acknowledged SETs are gone; a long poll returns as soon as an event
// arrives; setErrs are recorded.
func TestSSFPoll(t *testing.T) {
	for _, store := range []string{"postgres", "sqlite"} {
		t.Run(store, func(t *testing.T) { testSSFPoll(t, store) })
	}
}

func testSSFPoll(t *testing.T, store string) {
	s := ssfServer(t, store)
	admin := s.key("ops", "sessions:write", "sessions:revoke", "audit:read")
	rcvKey := s.key("poller", "ssf:manage")
	st := createStream(t, s, rcvKey, `{"description":"poller"}`)
	id := st["stream_id"].(string)
	delivery := st["delivery"].(map[string]any)
	if delivery["method"] != "urn:ietf:rfc:8936" || delivery["endpoint_url"] != s.URL+"/ssf/poll/"+id {
		t.Fatalf("delivery = %v, want poll at %s/ssf/poll/%s", delivery, s.URL, id)
	}
	rcv := receiver.New(receiver.Config{Issuer: s.URL, Audience: []string{st["aud"].(string)}, JWKSURL: s.URL + "/ssf/jwks.json"})
	poll := func(body string) ([]*receiver.SET, bool) {
		t.Helper()
		r := s.do("POST", "/ssf/poll/"+id, rcvKey, body)
		if r.Status != http.StatusOK {
			t.Fatalf("poll = %d %s", r.Status, r.Body)
		}
		var out struct {
			Sets          map[string]string `json:"sets"`
			MoreAvailable bool              `json:"moreAvailable"`
		}
		if err := json.Unmarshal(r.Body, &out); err != nil {
			t.Fatal(err)
		}
		var sets []*receiver.SET
		for jti, raw := range out.Sets {
			set, err := rcv.Validate(t.Context(), raw)
			if err != nil && err != receiver.ErrDuplicate {
				t.Fatalf("SET %s: %v", jti, err)
			}
			if set.JTI != jti {
				t.Fatalf("SET under key %s has jti %s", jti, set.JTI)
			}
			sets = append(sets, set)
		}
		return sets, out.MoreAvailable
	}
	if sets, _ := poll(`{"returnImmediately":true}`); len(sets) != 0 {
		t.Fatalf("new stream polled %d SETs, want 0 (it starts from now)", len(sets))
	}
	for _, sid := range []string{"p-1", "p-2", "p-3"} {
		s.start(admin, "frank", sid)
		if r := s.do("DELETE", "/auth/admin/api/users/frank/sessions/"+sid, admin, ""); r.Status != http.StatusOK {
			t.Fatalf("revoke %s = %d", sid, r.Status)
		}
	}
	sets, more := poll(`{"returnImmediately":true,"maxEvents":2}`)
	if len(sets) != 2 || !more {
		t.Fatalf("poll maxEvents 2: %d SETs, moreAvailable %v; want 2 and true", len(sets), more)
	}
	again, _ := poll(`{"returnImmediately":true}`)
	if len(again) != 3 {
		t.Fatalf("unacknowledged SETs polled again: %d, want 3", len(again))
	}
	var acks []string
	var errJTI string
	for _, set := range again {
		if sessionOf(set) == "p-3" {
			errJTI = set.JTI
		} else {
			acks = append(acks, set.JTI)
		}
	}
	ack, _ := json.Marshal(acks)
	body := fmt.Sprintf(`{"ack":%s,"setErrs":{%q:{"err":"invalid_request","description":"test"}},"returnImmediately":true}`, ack, errJTI)
	if sets, _ := poll(body); len(sets) != 0 {
		t.Fatalf("after acknowledging everything: %d SETs, want 0", len(sets))
	}
	if sets, _ := poll(`{"returnImmediately":true}`); len(sets) != 0 {
		t.Fatalf("acknowledged SETs came back: %d", len(sets))
	}
	failed := s.do("GET", "/auth/admin/api/audit/events?type=SSFDeliveryFailed", admin, "").json(t)
	if evs, _ := failed["events"].([]any); len(evs) != 1 || !strings.Contains(fmt.Sprint(evs[0]), errJTI) {
		t.Fatalf("SSFDeliveryFailed events = %v, want one for %s", failed["events"], errJTI)
	}

	// Long poll: it waits, and returns as soon as a revocation is recorded.
	type result struct {
		sets []*receiver.SET
	}
	done := make(chan result, 1)
	go func() {
		sets, _ := poll(`{}`)
		done <- result{sets}
	}()
	waitfor.Cond(t, 10*time.Second, func() error {
		if v := metric(t, s, `sessiond_ssf_polls_waiting{stream="`+id+`"}`); v != 1 {
			return fmt.Errorf("%v polls waiting", v)
		}
		return nil
	})
	s.start(admin, "frank", "p-4")
	if r := s.do("DELETE", "/auth/admin/api/users/frank/sessions/p-4", admin, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke p-4 = %d", r.Status)
	}
	res := <-done
	if len(res.sets) != 1 || sessionOf(res.sets[0]) != "p-4" {
		t.Fatalf("long poll answered %d SETs, want p-4's", len(res.sets))
	}
}

// TestSSFRestartEmbedded: on the embedded store, a restart in the middle
// of a receiver outage loses nothing and repeats nothing.
func TestSSFRestartEmbedded(t *testing.T) {
	s := ssfServer(t, "sqlite")
	addr := strings.TrimPrefix(s.URL, "http://")
	admin := s.key("ops", "sessions:write", "sessions:revoke")
	rcv := newSSFReceiver(t, s.URL, s.URL+"/ssf/jwks.json")
	createStream(t, s, s.key("receiver", "ssf:manage"), pushStreamBody(rcv))
	rcv.failStatus.Store(http.StatusServiceUnavailable)
	for i := range 3 {
		s.start(admin, "kim", fmt.Sprintf("k-%d", i))
		if r := s.do("DELETE", fmt.Sprintf("/auth/admin/api/users/kim/sessions/k-%d", i), admin, ""); r.Status != http.StatusOK {
			t.Fatalf("revoke k-%d = %d", i, r.Status)
		}
	}
	waitfor.Cond(t, 10*time.Second, func() error {
		if n := rcv.posts.Load(); n < 2 {
			return fmt.Errorf("%d attempts, want a retry", n)
		}
		return nil
	})
	s.Main.Close()
	rcv.failStatus.Store(0)
	startEmbeddedAt(t, s.Data, addr)
	sets := rcv.waitSETs(t, 3)
	for i, set := range sets {
		if got, want := sessionOf(set), fmt.Sprintf("k-%d", i); got != want {
			t.Fatalf("SET %d is for %s, want %s", i, got, want)
		}
	}
	if len(sets) != 3 || rcv.Duplicates() != 0 {
		t.Fatalf("%d SETs, %d duplicate jti; want 3 and 0", len(sets), rcv.Duplicates())
	}
}
