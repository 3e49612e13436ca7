package storetest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/projections"
)

// testRebuild drives a random workload through the domain decisions and
// checks that replaying the log rebuilds the inline read model exactly.
func testRebuild(t *testing.T, h Harness) {
	s := h.Store
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	actor := domain.Actor{KeyID: "k1", KeyName: "ops"}
	var sessions []string
	for i := range 120 {
		now = now.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
		user := fmt.Sprintf("user-%d@example.org", rng.IntN(8))
		switch op := rng.IntN(10); {
		case op < 5 || len(sessions) == 0:
			id := fmt.Sprintf("s-%03d", i)
			ev, err := domain.DecideStart(nil, domain.StartSession{UserID: user, SessionID: id,
				ExpiresAt: now.Add(time.Duration(1+rng.IntN(3600)) * time.Second), Metadata: []byte(`{"ua":"curl"}`)}, now)
			if err != nil {
				t.Fatal(err)
			}
			appendDomain(t, s, 0, ev)
			sessions = append(sessions, id)
		case op < 8:
			id := sessions[rng.IntN(len(sessions))]
			sess := loadSession(t, s, id)
			d, err := domain.DecideRevoke(sess, domain.RevokeSession{UserID: sess.UserID(), SessionID: id, Actor: actor, Reason: "rotation"}, now)
			if err != nil {
				t.Fatal(err)
			}
			if d.Event != nil {
				appendDomain(t, s, sess.Version(), d.Event)
			}
		case op < 9:
			key := fmt.Sprintf("key-%d", i)
			ev, err := domain.DecideCreateKey(nil, domain.CreateAdminKey{KeyID: key, Name: "k" + key,
				Scopes: domain.AllScopes, KeyHash: fmt.Sprintf("%064x", i)}, now)
			if err != nil {
				t.Fatal(err)
			}
			appendDomain(t, s, 0, ev)
			if rng.IntN(2) == 0 {
				rev, _ := domain.DecideRevokeKey(restoreKey(t, s, key), key, &actor, now)
				appendDomain(t, s, 1, rev)
			}
		default:
			// Revoke every active session of one user in one append.
			var all []*domain.Session
			for _, id := range sessions {
				all = append(all, loadSession(t, s, id))
			}
			evs, err := domain.DecideRevokeAll(all, domain.RevokeAll{UserID: user, Actor: actor, Reason: "all"}, now)
			if err != nil {
				t.Fatal(err)
			}
			var appends []eventstore.StreamAppend
			for _, e := range evs {
				sess := loadSession(t, s, e.SessionID)
				appends = append(appends, one(e.StreamID(), sess.Version(), proposed(t, e)))
			}
			if len(appends) > 0 {
				mustAppend(t, s, appends...)
			}
		}
	}
	// A foreign event type leaves the read model alone.
	mustAppend(t, s, one("other-1", 0, ev("SomethingElse", nil)))

	before := h.DumpReadModel(t)
	n, err := s.Rebuild(ctx(t), projections.Tables)
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	head, _, _ := s.Head(ctx(t))
	if n != head {
		t.Errorf("rebuild replayed %d events, log has %d", n, head)
	}
	after := h.DumpReadModel(t)
	if before != after {
		t.Fatalf("rebuilt read model differs from the inline one\ninline:\n%s\nrebuilt:\n%s", before, after)
	}
	if len(before) < 1000 {
		t.Fatalf("read model dump is suspiciously small:\n%s", before)
	}
}

func proposed(t testing.TB, e domain.Event) eventstore.Proposed {
	t.Helper()
	typ, data, err := domain.EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.Proposed{Type: typ, Data: data, Metadata: []byte(`{"requestId":"rebuild"}`)}
}

func appendDomain(t testing.TB, s Store, expected int64, e domain.Event) {
	t.Helper()
	mustAppend(t, s, one(e.StreamID(), expected, proposed(t, e)))
}

func decodeStream(t testing.TB, s Store, stream string) []domain.Event {
	t.Helper()
	recs, err := s.ReadStream(ctx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]domain.Event, len(recs))
	for i, r := range recs {
		if out[i], err = domain.DecodeEvent(r.Type, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func loadSession(t testing.TB, s Store, id string) *domain.Session {
	t.Helper()
	sess, err := domain.RestoreSession(decodeStream(t, s, domain.SessionStream(id)))
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func restoreKey(t testing.TB, s Store, id string) *domain.AdminKey {
	t.Helper()
	k, err := domain.RestoreAdminKey(decodeStream(t, s, domain.AdminKeyStream(id)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}
