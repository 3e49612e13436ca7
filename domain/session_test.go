package domain_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

var (
	t0    = time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	cet   = time.FixedZone("CET", 3600)
	actor = domain.Actor{KeyID: "k1", KeyName: "ops"}
	other = domain.Actor{KeyID: "k2", KeyName: "support"}
)

func started(id, user string, ttl time.Duration) domain.SessionStarted {
	return domain.SessionStarted{SessionID: id, UserID: user, StartedAt: t0, ExpiresAt: t0.Add(ttl)}
}

func revoked(id, user string, at time.Time, by domain.Actor, reason string) domain.SessionRevoked {
	return domain.SessionRevoked{SessionID: id, UserID: user, RevokedAt: at, ExpiresAt: t0.Add(time.Hour), RevokedBy: by, Reason: reason}
}

func restore(t *testing.T, evs ...domain.Event) *domain.Session {
	t.Helper()
	s, err := domain.RestoreSession(evs)
	if err != nil {
		t.Fatalf("RestoreSession: %v", err)
	}
	return s
}

// metadataOf returns a JSON object of exactly n bytes (n >= 8).
func metadataOf(n int) json.RawMessage {
	return json.RawMessage(`{"a":"` + strings.Repeat("x", n-8) + `"}`)
}

func wantTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s location = %v, want UTC", what, got.Location())
	}
}

func wantRevoked(t *testing.T, got, want domain.SessionRevoked) {
	t.Helper()
	if got.SessionID != want.SessionID || got.UserID != want.UserID || got.RevokedBy != want.RevokedBy || got.Reason != want.Reason {
		t.Errorf("event = %+v, want %+v", got, want)
	}
	wantTime(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
	wantTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
}

func TestRestoreSession(t *testing.T) {
	t.Run("nil", func(t *testing.T) {
		s, err := domain.RestoreSession(nil)
		if s != nil || err != nil {
			t.Fatalf("RestoreSession(nil) = %v, %v; want nil, nil", s, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		s, err := domain.RestoreSession([]domain.Event{})
		if s != nil || err != nil {
			t.Fatalf("RestoreSession(empty) = %v, %v; want nil, nil", s, err)
		}
	})
	t.Run("started", func(t *testing.T) {
		ev := started("s1", "u1", time.Hour)
		ev.Metadata = json.RawMessage(`{"ua":"curl"}`)
		s := restore(t, ev)
		if got, want := s.ID(), "s1"; got != want {
			t.Errorf("ID = %q, want %q", got, want)
		}
		if got, want := s.UserID(), "u1"; got != want {
			t.Errorf("UserID = %q, want %q", got, want)
		}
		if got, want := s.StartedAt(), t0; !got.Equal(want) {
			t.Errorf("StartedAt = %v, want %v", got, want)
		}
		if got, want := s.ExpiresAt(), t0.Add(time.Hour); !got.Equal(want) {
			t.Errorf("ExpiresAt = %v, want %v", got, want)
		}
		if got, want := string(s.Metadata()), `{"ua":"curl"}`; got != want {
			t.Errorf("Metadata = %s, want %s", got, want)
		}
		if got := s.Revocation(); got != nil {
			t.Errorf("Revocation = %+v, want nil", got)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		s := restore(t, started("s1", "u1", time.Hour), revoked("s1", "u1", t0.Add(time.Minute), actor, "stolen"))
		r := s.Revocation()
		if r == nil {
			t.Fatal("Revocation = nil")
		}
		if got, want := r.By, actor; got != want {
			t.Errorf("By = %+v, want %+v", got, want)
		}
		if got, want := r.Reason, "stolen"; got != want {
			t.Errorf("Reason = %q, want %q", got, want)
		}
		if got, want := r.At, t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("At = %v, want %v", got, want)
		}
	})
	t.Run("first revocation wins", func(t *testing.T) {
		s := restore(t, started("s1", "u1", time.Hour),
			revoked("s1", "u1", t0.Add(time.Minute), actor, "first"),
			revoked("s1", "u1", t0.Add(2*time.Minute), other, "second"))
		r := s.Revocation()
		if r == nil {
			t.Fatal("Revocation = nil")
		}
		if r.By != actor || r.Reason != "first" || !r.At.Equal(t0.Add(time.Minute)) {
			t.Errorf("Revocation = %+v, want the first one", r)
		}
	})
}

func TestSessionVersion(t *testing.T) {
	tests := []struct {
		name   string
		events []domain.Event
	}{
		{"started", []domain.Event{started("s1", "u1", time.Hour)}},
		{"revoked", []domain.Event{started("s1", "u1", time.Hour), revoked("s1", "u1", t0, actor, "")}},
		{"revoked twice", []domain.Event{started("s1", "u1", time.Hour), revoked("s1", "u1", t0, actor, ""), revoked("s1", "u1", t0, other, "")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := restore(t, tc.events...)
			if got, want := s.Version(), int64(len(tc.events)); got != want {
				t.Errorf("Version = %d, want %d", got, want)
			}
		})
	}
}

func TestRestoreSessionCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		events []domain.Event
	}{
		{"revoked first", []domain.Event{revoked("s1", "u1", t0, actor, "")}},
		{"started twice", []domain.Event{started("s1", "u1", time.Hour), started("s1", "u1", time.Hour)}},
		{"restarted", []domain.Event{started("s1", "u1", time.Hour), revoked("s1", "u1", t0, actor, ""), started("s1", "u1", time.Hour)}},
		{"key event", []domain.Event{domain.AdminKeyCreated{KeyID: "k1"}}},
		{"key event later", []domain.Event{started("s1", "u1", time.Hour), domain.AdminKeyRevoked{KeyID: "k1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := domain.RestoreSession(tc.events)
			if err == nil {
				t.Fatalf("RestoreSession = %+v, nil; want an error", s)
			}
			if s != nil {
				t.Errorf("RestoreSession returned a session with error %v", err)
			}
		})
	}
}

func TestSessionStatus(t *testing.T) {
	exp := t0.Add(time.Hour)
	active := []domain.Event{started("s1", "u1", time.Hour)}
	revokedEarly := []domain.Event{started("s1", "u1", time.Hour), revoked("s1", "u1", t0.Add(time.Minute), actor, "")}
	tests := []struct {
		name   string
		events []domain.Event
		now    time.Time
		want   domain.Status
	}{
		{"at start", active, t0, domain.StatusActive},
		{"midway", active, t0.Add(30 * time.Minute), domain.StatusActive},
		{"just before expiry", active, exp.Add(-time.Nanosecond), domain.StatusActive},
		{"at expiry", active, exp, domain.StatusExpired},
		{"at expiry other zone", active, exp.In(cet), domain.StatusExpired},
		{"after expiry", active, exp.Add(time.Nanosecond), domain.StatusExpired},
		{"long after expiry", active, exp.Add(365 * 24 * time.Hour), domain.StatusExpired},
		{"revoked", revokedEarly, t0.Add(2 * time.Minute), domain.StatusRevoked},
		{"revoked at expiry", revokedEarly, exp, domain.StatusRevoked},
		{"revoked after expiry", revokedEarly, exp.Add(time.Hour), domain.StatusRevoked},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := restore(t, tc.events...)
			if got, want := s.Status(tc.now), tc.want; got != want {
				t.Errorf("Status(%v) = %q, want %q", tc.now, got, want)
			}
		})
	}
	t.Run("values", func(t *testing.T) {
		for st, want := range map[domain.Status]string{domain.StatusActive: "active", domain.StatusExpired: "expired", domain.StatusRevoked: "revoked"} {
			if got := string(st); got != want {
				t.Errorf("status = %q, want %q", got, want)
			}
		}
	})
}

func TestDecideStart(t *testing.T) {
	// now and expiresAt in another zone, with sub-microsecond digits that
	// must be truncated (not rounded).
	now := time.Date(2026, 3, 1, 15, 3, 0, 123456789, cet)
	exp := time.Date(2026, 3, 1, 16, 3, 0, 999999999, cet)
	cmd := domain.StartSession{UserID: "u1", SessionID: "s1", ExpiresAt: exp, Metadata: json.RawMessage(`{"ua":"curl"}`)}

	t.Run("new", func(t *testing.T) {
		ev, err := domain.DecideStart(nil, cmd, now)
		if err != nil || ev == nil {
			t.Fatalf("DecideStart = %+v, %v; want an event", ev, err)
		}
		if got, want := ev.SessionID, "s1"; got != want {
			t.Errorf("SessionID = %q, want %q", got, want)
		}
		if got, want := ev.UserID, "u1"; got != want {
			t.Errorf("UserID = %q, want %q", got, want)
		}
		wantTime(t, "StartedAt", ev.StartedAt, time.Date(2026, 3, 1, 14, 3, 0, 123456000, time.UTC))
		wantTime(t, "ExpiresAt", ev.ExpiresAt, time.Date(2026, 3, 1, 15, 3, 0, 999999000, time.UTC))
		if got, want := string(ev.Metadata), `{"ua":"curl"}`; got != want {
			t.Errorf("Metadata = %s, want %s", got, want)
		}
		if got, want := ev.StreamID(), "session-s1"; got != want {
			t.Errorf("StreamID = %q, want %q", got, want)
		}
	})

	okCases := []struct {
		name string
		cmd  domain.StartSession
	}{
		{"no metadata", domain.StartSession{UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour)}},
		{"empty object", domain.StartSession{UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour), Metadata: json.RawMessage(`{}`)}},
		{"metadata 4096", domain.StartSession{UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour), Metadata: metadataOf(4096)}},
		{"one microsecond", domain.StartSession{UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Microsecond)}},
		{"max ids", domain.StartSession{UserID: strings.Repeat("u", 256), SessionID: strings.Repeat("s", 128), ExpiresAt: t0.Add(time.Hour)}},
	}
	for _, tc := range okCases {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := domain.DecideStart(nil, tc.cmd, t0)
			if err != nil || ev == nil {
				t.Fatalf("DecideStart = %+v, %v; want an event", ev, err)
			}
			if got, want := string(ev.Metadata), string(tc.cmd.Metadata); got != want {
				t.Errorf("Metadata = %.40s, want %.40s", got, want)
			}
			wantTime(t, "StartedAt", ev.StartedAt, t0)
			wantTime(t, "ExpiresAt", ev.ExpiresAt, tc.cmd.ExpiresAt)
		})
	}

	first, err := domain.DecideStart(nil, cmd, now)
	if err != nil {
		t.Fatal(err)
	}
	existing := restore(t, *first)

	t.Run("idempotent", func(t *testing.T) {
		for _, at := range []time.Time{now, now.Add(time.Minute)} {
			ev, err := domain.DecideStart(existing, cmd, at)
			if ev != nil || err != nil {
				t.Errorf("DecideStart again at %v = %+v, %v; want nil, nil", at, ev, err)
			}
		}
	})
	t.Run("other user", func(t *testing.T) {
		c := cmd
		c.UserID = "u2"
		ev, err := domain.DecideStart(existing, c, now)
		wantCode(t, err, domain.CodeConflict)
		if ev != nil {
			t.Errorf("event = %+v on conflict", ev)
		}
	})
	t.Run("other user expired", func(t *testing.T) {
		c := cmd
		c.UserID = "u2"
		c.ExpiresAt = exp.Add(48 * time.Hour)
		_, err := domain.DecideStart(existing, c, exp.Add(24*time.Hour))
		wantCode(t, err, domain.CodeConflict)
	})

	valid := domain.StartSession{UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour)}
	with := func(f func(*domain.StartSession)) domain.StartSession {
		c := valid
		f(&c)
		return c
	}
	bad := []struct {
		name string
		cmd  domain.StartSession
	}{
		{"expires now", with(func(c *domain.StartSession) { c.ExpiresAt = t0 })},
		{"expires now other zone", with(func(c *domain.StartSession) { c.ExpiresAt = t0.In(cet) })},
		{"expires in past", with(func(c *domain.StartSession) { c.ExpiresAt = t0.Add(-time.Second) })},
		{"same microsecond", with(func(c *domain.StartSession) { c.ExpiresAt = t0.Add(999 * time.Nanosecond) })},
		{"zero expiry", with(func(c *domain.StartSession) { c.ExpiresAt = time.Time{} })},
		{"metadata 4097", with(func(c *domain.StartSession) { c.Metadata = metadataOf(4097) })},
		{"array metadata", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`[1]`) })},
		{"string metadata", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`"x"`) })},
		{"number metadata", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`1`) })},
		{"null metadata", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`null`) })},
		{"truncated metadata", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`{"a":`) })},
		{"trailing garbage", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`{}x`) })},
		{"two objects", with(func(c *domain.StartSession) { c.Metadata = json.RawMessage(`{}{}`) })},
		{"empty user", with(func(c *domain.StartSession) { c.UserID = "" })},
		{"bad user", with(func(c *domain.StartSession) { c.UserID = "u 1" })},
		{"long user", with(func(c *domain.StartSession) { c.UserID = strings.Repeat("u", 257) })},
		{"empty session", with(func(c *domain.StartSession) { c.SessionID = "" })},
		{"bad session", with(func(c *domain.StartSession) { c.SessionID = "s/2" })},
		{"long session", with(func(c *domain.StartSession) { c.SessionID = strings.Repeat("s", 129) })},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := domain.DecideStart(nil, tc.cmd, t0)
			wantCode(t, err, domain.CodeValidation)
			if ev != nil {
				t.Errorf("event = %+v with a validation error", ev)
			}
		})
	}
}

func TestDecideRevoke(t *testing.T) {
	exp := t0.Add(time.Hour)
	active := restore(t, started("s1", "u1", time.Hour))
	cmd := domain.RevokeSession{UserID: "u1", SessionID: "s1", Actor: actor, Reason: "stolen laptop"}

	events := []struct {
		name string
		now  time.Time
		want time.Time // RevokedAt
	}{
		{"active", t0.Add(time.Minute), t0.Add(time.Minute)},
		{"normalized", time.Date(2026, 3, 1, 15, 4, 0, 123456789, cet), time.Date(2026, 3, 1, 14, 4, 0, 123456000, time.UTC)},
		{"at expiry", exp, exp},
		{"expired", exp.Add(time.Hour), exp.Add(time.Hour)},
	}
	for _, tc := range events {
		t.Run(tc.name, func(t *testing.T) {
			d, err := domain.DecideRevoke(active, cmd, tc.now)
			if err != nil || d.Event == nil {
				t.Fatalf("DecideRevoke = %+v, %v; want an event", d, err)
			}
			if d.Original != nil {
				t.Errorf("Original = %+v for a new revocation", d.Original)
			}
			wantRevoked(t, *d.Event, domain.SessionRevoked{
				SessionID: "s1", UserID: "u1", RevokedAt: tc.want, ExpiresAt: exp, RevokedBy: actor, Reason: "stolen laptop",
			})
		})
	}

	t.Run("reason 512", func(t *testing.T) {
		c := cmd
		c.Reason = strings.Repeat("ü", 512)
		d, err := domain.DecideRevoke(active, c, t0)
		if err != nil || d.Event == nil {
			t.Fatalf("DecideRevoke = %+v, %v; want an event", d, err)
		}
		if got, want := d.Event.Reason, c.Reason; got != want {
			t.Errorf("Reason = %.20q, want %.20q", got, want)
		}
	})

	first := revoked("s1", "u1", t0.Add(time.Minute), actor, "stolen laptop")
	revokedTwice := restore(t, started("s1", "u1", time.Hour), first, revoked("s1", "u1", t0.Add(2*time.Minute), other, "again"))
	retry := domain.RevokeSession{UserID: "u1", SessionID: "s1", Actor: other, Reason: "second try"}
	for _, tc := range []struct {
		name string
		s    *domain.Session
		now  time.Time
	}{
		{"already revoked", restore(t, started("s1", "u1", time.Hour), first), t0.Add(5 * time.Minute)},
		{"revoked and expired", restore(t, started("s1", "u1", time.Hour), first), exp.Add(time.Hour)},
		{"revoked twice", revokedTwice, t0.Add(5 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := domain.DecideRevoke(tc.s, retry, tc.now)
			if err != nil {
				t.Fatalf("DecideRevoke: %v", err)
			}
			if d.Event != nil {
				t.Errorf("Event = %+v for an already revoked session", d.Event)
			}
			if d.Original == nil {
				t.Fatal("Original = nil for an already revoked session")
			}
			if got, want := d.Original.By, actor; got != want {
				t.Errorf("Original.By = %+v, want %+v", got, want)
			}
			if got, want := d.Original.Reason, "stolen laptop"; got != want {
				t.Errorf("Original.Reason = %q, want %q", got, want)
			}
			if got, want := d.Original.At, t0.Add(time.Minute); !got.Equal(want) {
				t.Errorf("Original.At = %v, want %v", got, want)
			}
		})
	}
	t.Run("original is a copy", func(t *testing.T) {
		s := restore(t, started("s1", "u1", time.Hour), first)
		d, err := domain.DecideRevoke(s, retry, t0)
		if err != nil || d.Original == nil {
			t.Fatalf("DecideRevoke = %+v, %v", d, err)
		}
		d.Original.Reason = "tampered"
		if got, want := s.Revocation().Reason, "stolen laptop"; got != want {
			t.Errorf("session reason = %q after changing the decision, want %q", got, want)
		}
	})

	notFound := []struct {
		name string
		s    *domain.Session
		cmd  domain.RevokeSession
	}{
		{"unknown", nil, cmd},
		{"other user", active, domain.RevokeSession{UserID: "u2", SessionID: "s1", Actor: actor}},
		{"other user revoked", revokedTwice, domain.RevokeSession{UserID: "u2", SessionID: "s1", Actor: actor}},
	}
	for _, tc := range notFound {
		t.Run(tc.name, func(t *testing.T) {
			d, err := domain.DecideRevoke(tc.s, tc.cmd, t0)
			wantCode(t, err, domain.CodeSessionNotFound)
			if d.Event != nil || d.Original != nil {
				t.Errorf("decision = %+v with SESSION_NOT_FOUND", d)
			}
		})
	}

	invalid := []struct {
		name string
		s    *domain.Session
		cmd  domain.RevokeSession
	}{
		{"reason 513", active, domain.RevokeSession{UserID: "u1", SessionID: "s1", Reason: strings.Repeat("r", 513)}},
		{"reason not utf8", active, domain.RevokeSession{UserID: "u1", SessionID: "s1", Reason: "\xff"}},
		{"reason nul", active, domain.RevokeSession{UserID: "u1", SessionID: "s1", Reason: "a\x00"}},
		{"bad user", active, domain.RevokeSession{UserID: "u/1", SessionID: "s1"}},
		{"empty user", active, domain.RevokeSession{UserID: "", SessionID: "s1"}},
		{"bad session", active, domain.RevokeSession{UserID: "u1", SessionID: "s 1"}},
		{"bad session unknown", nil, domain.RevokeSession{UserID: "u1", SessionID: "s%1"}},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			d, err := domain.DecideRevoke(tc.s, tc.cmd, t0)
			wantCode(t, err, domain.CodeValidation)
			if d.Event != nil || d.Original != nil {
				t.Errorf("decision = %+v with a validation error", d)
			}
		})
	}
}

func TestDecideRevokeAll(t *testing.T) {
	now := t0.Add(30 * time.Minute)
	sessions := []*domain.Session{
		restore(t, started("a", "u1", time.Hour)),
		restore(t, started("b", "u1", time.Minute)),     // expired before now
		restore(t, started("b2", "u1", 30*time.Minute)), // expires exactly at now
		restore(t, started("c", "u1", time.Hour), revoked("c", "u1", t0, other, "earlier")),
		restore(t, started("d", "u2", time.Hour)), // another user's
		nil,
		restore(t, started("e", "u1", 2*time.Hour)),
	}
	cmd := domain.RevokeAll{UserID: "u1", Actor: actor, Reason: "offboarding"}

	t.Run("active only", func(t *testing.T) {
		evs, err := domain.DecideRevokeAll(sessions, cmd, now)
		if err != nil {
			t.Fatal(err)
		}
		want := []domain.SessionRevoked{
			{SessionID: "a", UserID: "u1", RevokedAt: now, ExpiresAt: t0.Add(time.Hour), RevokedBy: actor, Reason: "offboarding"},
			{SessionID: "e", UserID: "u1", RevokedAt: now, ExpiresAt: t0.Add(2 * time.Hour), RevokedBy: actor, Reason: "offboarding"},
		}
		if got, want := len(evs), len(want); got != want {
			t.Fatalf("%d events (%+v), want %d", got, evs, want)
		}
		for i := range want {
			wantRevoked(t, evs[i], want[i])
		}
	})
	t.Run("normalized", func(t *testing.T) {
		at := time.Date(2026, 3, 1, 15, 33, 0, 987654321, cet)
		evs, err := domain.DecideRevokeAll(sessions[:1], cmd, at)
		if err != nil || len(evs) != 1 {
			t.Fatalf("DecideRevokeAll = %+v, %v; want one event", evs, err)
		}
		wantTime(t, "RevokedAt", evs[0].RevokedAt, time.Date(2026, 3, 1, 14, 33, 0, 987654000, time.UTC))
	})
	t.Run("none active", func(t *testing.T) {
		evs, err := domain.DecideRevokeAll(sessions[1:6], cmd, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(evs), 0; got != want {
			t.Errorf("%d events (%+v), want %d", got, evs, want)
		}
	})
	t.Run("no sessions", func(t *testing.T) {
		evs, err := domain.DecideRevokeAll(nil, cmd, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(evs), 0; got != want {
			t.Errorf("%d events, want %d", got, want)
		}
	})
	t.Run("other user", func(t *testing.T) {
		evs, err := domain.DecideRevokeAll(sessions, domain.RevokeAll{UserID: "u2", Actor: other, Reason: "x"}, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].SessionID != "d" || evs[0].RevokedBy != other || evs[0].Reason != "x" {
			t.Errorf("events = %+v, want one for d by %+v", evs, other)
		}
	})
	for _, tc := range []struct {
		name string
		cmd  domain.RevokeAll
	}{
		{"bad user", domain.RevokeAll{UserID: "u 1", Actor: actor}},
		{"empty user", domain.RevokeAll{UserID: "", Actor: actor}},
		{"reason 513", domain.RevokeAll{UserID: "u1", Actor: actor, Reason: strings.Repeat("r", 513)}},
		{"reason nul", domain.RevokeAll{UserID: "u1", Actor: actor, Reason: "\x00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.DecideRevokeAll(sessions, tc.cmd, now)
			wantCode(t, err, domain.CodeValidation)
			if len(evs) != 0 {
				t.Errorf("events = %+v with a validation error", evs)
			}
		})
	}
}

// TestSessionFromSnapshot: a snapshot rebuilds the session a replay would,
// at its version; an inconsistent one is refused.
func TestSessionFromSnapshot(t *testing.T) {
	started := domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	revoked := domain.SessionRevoked{SessionID: "s1", UserID: "u1", RevokedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour),
		RevokedBy: domain.Actor{KeyID: "k1", KeyName: "ops"}, Reason: "stolen"}
	replayed, err := domain.RestoreSession([]domain.Event{started, revoked})
	if err != nil {
		t.Fatal(err)
	}
	rev := *replayed.Revocation()
	snap, err := domain.SessionFromSnapshot(domain.SessionSnapshot{ID: "s1", UserID: "u1", StartedAt: t0, ExpiresAt: t0.Add(time.Hour),
		Revocation: &rev, Version: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap, replayed) {
		t.Errorf("from the snapshot %+v, replayed %+v", snap, replayed)
	}
	for name, bad := range map[string]domain.SessionSnapshot{
		"no user":       {ID: "s1", Version: 1},
		"no version":    {ID: "s1", UserID: "u1"},
		"revoked at v1": {ID: "s1", UserID: "u1", Revocation: &rev, Version: 1},
	} {
		if _, err := domain.SessionFromSnapshot(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
