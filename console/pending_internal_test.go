package console

import (
	"fmt"
	"testing"
	"time"
)

// A pending sign-in is good for one callback, and not after it expires;
// a full table makes room by dropping expired ones, else refuses.
func TestPendingLogins(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ps := newPendingLogins()
	if err := ps.add("s1", &pendingLogin{nonce: "n1", expires: now.Add(pendingTTL)}, now); err != nil {
		t.Fatal(err)
	}
	if p := ps.take("s1", now); p == nil || p.nonce != "n1" {
		t.Fatalf("take = %+v, want the sign-in", p)
	}
	if p := ps.take("s1", now); p != nil {
		t.Fatal("a state was taken twice")
	}
	_ = ps.add("s2", &pendingLogin{expires: now.Add(pendingTTL)}, now)
	if p := ps.take("s2", now.Add(pendingTTL)); p != nil {
		t.Fatal("an expired sign-in was taken")
	}

	for i := range maxPending {
		if err := ps.add(fmt.Sprint("old-", i), &pendingLogin{expires: now.Add(time.Minute)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := ps.add("one-more", &pendingLogin{expires: now.Add(pendingTTL)}, now); err == nil {
		t.Fatal("a full table took another sign-in")
	}
	later := now.Add(2 * time.Minute)
	if err := ps.add("after", &pendingLogin{expires: later.Add(pendingTTL)}, later); err != nil {
		t.Fatalf("expired sign-ins were not dropped: %v", err)
	}
	if len(ps.byState) != 1 {
		t.Fatalf("%d pending, want 1", len(ps.byState))
	}
}
