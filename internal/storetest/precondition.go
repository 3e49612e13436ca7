package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/projections"
)

var (
	preNow   = time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	preActor = domain.Actor{KeyID: "k1", KeyName: "ops"}
)

// startSession appends a SessionStarted, as the service would.
func startSession(t testing.TB, s Store, user, id string) {
	t.Helper()
	ev, err := domain.DecideStart(nil, domain.StartSession{UserID: user, SessionID: id, ExpiresAt: preNow.Add(time.Hour)}, preNow)
	if err != nil {
		t.Fatal(err)
	}
	appendDomain(t, s, 0, ev)
}

// activeOf is a precondition on the user's active sessions.
func activeOf(user string, want ...string) *eventstore.Precondition {
	return &eventstore.Precondition{Key: "user:" + user, Query: projections.QueryActiveSessionIDs,
		Args: []any{user, preNow}, Want: want}
}

// testPrecondition: an append with a precondition is recorded only when
// the read model, at commit, answers what the caller expected; otherwise
// it is a conflict that records nothing. A replay of recorded event ids
// skips the check, and an unknown query is invalid input.
func testPrecondition(t *testing.T, h Harness) {
	s := h.Store
	startSession(t, s, "alice", "a-1")
	startSession(t, s, "alice", "a-2")
	startSession(t, s, "bob", "b-1")

	e := ev("Note", nil)
	e.EventID = uuid.New()
	guarded := one("notes", 0, e)
	guarded.Precondition = activeOf("alice", "a-2", "a-1") // any order
	first := mustAppend(t, s, guarded)

	head, _, _ := s.Head(ctx(t))
	for _, want := range [][]string{{"a-1"}, {"a-1", "a-2", "a-3"}, {"a-1", "b-1"}, nil} {
		late := one("notes", 1, ev("Note", nil))
		late.Precondition = activeOf("alice", want...)
		_, err := s.Append(ctx(t), late)
		var pe *eventstore.PreconditionError
		if !errors.Is(err, eventstore.ErrConflict) || !errors.As(err, &pe) {
			t.Errorf("precondition %v on {a-1 a-2}: err = %v, want a PreconditionError matching ErrConflict", want, err)
		}
	}
	if pos, _, _ := s.Head(ctx(t)); pos != head {
		t.Errorf("head = %d after refused appends, want %d (nothing recorded)", pos, head)
	}

	// A retry of the recorded request is a no-op, whatever the read
	// model says now.
	startSession(t, s, "alice", "a-3")
	again := mustAppend(t, s, guarded)
	if g, w := positions(again), positions(first); g != w {
		t.Errorf("replay positions = %s, want the originals %s", g, w)
	}

	bad := one("notes", 1, ev("Note", nil))
	bad.Precondition = &eventstore.Precondition{Key: "x", Query: "no-such-query", Want: nil}
	if _, err := s.Append(ctx(t), bad); !errors.Is(err, eventstore.ErrInvalidAppend) {
		t.Errorf("unknown query: err = %v, want ErrInvalidAppend", err)
	}
}

// hookedReads runs after on the first ActiveSessionIDs, once the read
// has been answered: another request, committed between a revoke-all's
// read and its append.
type hookedReads struct {
	app.Reads
	after func()
}

func (r *hookedReads) ActiveSessionIDs(ctx context.Context, user string, now time.Time) ([]string, error) {
	ids, err := r.Reads.ActiveSessionIDs(ctx, user, now)
	if f := r.after; f != nil {
		r.after = nil
		f()
	}
	return ids, err
}

// testRevokeAllRace: a session started between a revoke-all's read of
// the user's active sessions and its append does not survive the
// revoke-all. The append's precondition fails, the service reads again
// and revokes both, so the revoke-all takes effect at one moment and
// revokes everything active then (issue #10's strict semantics).
func testRevokeAllRace(t *testing.T, h Harness) {
	s := h.Store
	reads := &hookedReads{Reads: h.Reads}
	svc := app.New(s, reads, func() time.Time { return preNow }, nil)
	meta := app.Meta{Actor: preActor, RequestID: "race"}
	start := func(id string) {
		t.Helper()
		if _, _, err := svc.Start(ctx(t), meta, domain.StartSession{UserID: "alice", SessionID: id, ExpiresAt: preNow.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	start("a-1")
	reads.after = func() { start("a-2") }

	views, recs, err := svc.RevokeAll(ctx(t), meta, "alice", "all")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range views {
		got = append(got, v.SessionID)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a-1", "a-2"}) || len(recs) != 2 {
		t.Errorf("revoke-all revoked %v (%d events), want [a-1 a-2]: a-2 started after its read and before its append", got, len(recs))
	}
	if reads.after != nil {
		t.Fatal("the hook never ran")
	}
	if left, err := h.Reads.ActiveSessionIDs(ctx(t), "alice", preNow); err != nil || len(left) != 0 {
		t.Errorf("active after revoke-all = %v, %v; want none", left, err)
	}
	if sess := loadSession(t, s, "a-2"); sess.Revocation() == nil {
		t.Errorf("a-2's stream holds no SessionRevoked")
	}
}

// testRevokeAllFirstStart: a user's first session, committed between a
// revoke-all's read of the user's active sessions (none yet) and its check
// that the user exists, is revoked too. The answer never pairs "the user
// is known" with a read taken before they were (a 200 revoking nothing
// while a session was active), and never says the user is unknown.
func testRevokeAllFirstStart(t *testing.T, h Harness) {
	s := h.Store
	reads := &hookedReads{Reads: h.Reads}
	svc := app.New(s, reads, func() time.Time { return preNow }, nil)
	meta := app.Meta{Actor: preActor, RequestID: "first"}
	reads.after = func() {
		if _, _, err := svc.Start(ctx(t), meta, domain.StartSession{UserID: "bea", SessionID: "b-1", ExpiresAt: preNow.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	views, _, err := svc.RevokeAll(ctx(t), meta, "bea", "all")
	if err != nil {
		t.Fatalf("revoke-all = %v, want b-1 revoked (the user became known during it)", err)
	}
	if reads.after != nil {
		t.Fatal("the hook never ran")
	}
	if len(views) != 1 || views[0].SessionID != "b-1" {
		t.Errorf("revoke-all revoked %v, want [b-1]: the user's first session started during it", views)
	}
	if left, err := h.Reads.ActiveSessionIDs(ctx(t), "bea", preNow); err != nil || len(left) != 0 {
		t.Errorf("active after revoke-all = %v, %v; want none", left, err)
	}
}
