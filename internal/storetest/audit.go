package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// auditEvent is a session event by an actor.
func auditEvent(typ, user, session, keyID, keyName string) eventstore.StreamAppend {
	data, _ := json.Marshal(map[string]any{"userId": user, "sessionId": session})
	meta, _ := json.Marshal(map[string]any{"actor": map[string]string{"keyId": keyID, "keyName": keyName}})
	return eventstore.StreamAppend{StreamID: "session-" + session, ExpectedVersion: eventstore.AnyVersion,
		Events: []eventstore.Proposed{{Type: typ, Data: data, Metadata: meta}}}
}

func query(t *testing.T, s Store, f eventstore.Filter) string {
	t.Helper()
	var out []string
	err := s.Query(ctx(t), f, func(r *eventstore.Recorded) error {
		out = append(out, fmt.Sprint(r.Position))
		return nil
	})
	if err != nil {
		t.Fatalf("query %+v: %v", f, err)
	}
	return strings.Join(out, " ")
}

// testAuditFilters: each filter alone and combined, time bounds and
// limits select exactly the matching events, in position order.
func testAuditFilters(t *testing.T, h Harness) {
	mustAppend(t, h.Store, auditEvent("SessionStarted", "alice", "a1", "k1", "ops")) // 1
	mustAppend(t, h.Store, auditEvent("SessionStarted", "bob", "b1", "k1", "ops"))   // 2
	mustAppend(t, h.Store, auditEvent("SessionRevoked", "alice", "a1", "k2", "sec")) // 3
	mustAppend(t, h.Store, auditEvent("SessionStarted", "alice", "a2", "k1", "ops")) // 4
	mustAppend(t, h.Store, auditEvent("SessionRevoked", "bob", "b1", "k2", "sec"))   // 5
	mustAppend(t, h.Store, one("admin-key-k3", 0, ev("AdminKeyCreated", nil)))       // 6
	recs, _ := h.Store.ReadAll(ctx(t), 0, 10)
	for _, tc := range []struct {
		name string
		f    eventstore.Filter
		want string
	}{
		{"all", eventstore.Filter{}, "1 2 3 4 5 6"},
		{"user", eventstore.Filter{UserID: "alice"}, "1 3 4"},
		{"session", eventstore.Filter{SessionID: "b1"}, "2 5"},
		{"type", eventstore.Filter{Type: "SessionRevoked"}, "3 5"},
		{"actor by id", eventstore.Filter{Actor: "k2"}, "3 5"},
		{"actor by name", eventstore.Filter{Actor: "ops"}, "1 2 4"},
		{"combined", eventstore.Filter{UserID: "alice", Type: "SessionRevoked", Actor: "sec"}, "3"},
		{"after", eventstore.Filter{AfterPosition: 3}, "4 5 6"},
		{"limit", eventstore.Filter{UserID: "alice", Limit: 2}, "1 3"},
		{"from", eventstore.Filter{From: recs[5].RecordedAt}, "6"},
		{"to", eventstore.Filter{To: recs[0].RecordedAt.Add(-time.Microsecond)}, ""},
		{"from-to", eventstore.Filter{From: recs[0].RecordedAt, To: recs[5].RecordedAt.Add(time.Microsecond)}, "1 2 3 4 5 6"},
		{"no match", eventstore.Filter{UserID: "carol"}, ""},
	} {
		if got := query(t, h.Store, tc.f); got != tc.want {
			t.Errorf("%s: %+v = %q, want %q", tc.name, tc.f, got, tc.want)
		}
	}
}

// testAuditPagination: paging by the last position seen while writers
// append concurrently never repeats or skips a matching event.
func testAuditPagination(t *testing.T, h Harness) {
	for i := range 50 {
		mustAppend(t, h.Store, auditEvent("SessionStarted", "pager", fmt.Sprintf("p%d", i), "k1", "ops"))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				user := "noise"
				if i%3 == 0 {
					user = "pager"
				}
				if _, err := h.Store.Append(ctx(t), auditEvent("SessionStarted", user, fmt.Sprintf("w%d-%d", w, i), "k1", "ops")); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		}()
	}
	var seen []int64
	after := int64(0)
	for page := 0; page < 40; page++ {
		var got []int64
		h.Store.Query(ctx(t), eventstore.Filter{UserID: "pager", AfterPosition: after, Limit: 7}, func(r *eventstore.Recorded) error {
			got = append(got, r.Position)
			return nil
		})
		if len(got) == 0 {
			break
		}
		seen = append(seen, got...)
		after = got[len(got)-1]
	}
	close(stop)
	wg.Wait()
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("pages repeated or went back: %v", seen)
		}
	}
	// Everything up to the last position seen must have been seen.
	var want []int64
	h.Store.Query(ctx(t), eventstore.Filter{UserID: "pager"}, func(r *eventstore.Recorded) error {
		if r.Position <= after {
			want = append(want, r.Position)
		}
		return nil
	})
	if fmt.Sprint(want) != fmt.Sprint(seen) {
		t.Errorf("paged %d events, the log has %d up to %d:\n%v\n%v", len(seen), len(want), after, seen, want)
	}
	if len(seen) < 50 {
		t.Errorf("paged only %d events", len(seen))
	}
}
