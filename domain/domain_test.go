package domain_test

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

var (
	t0    = time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	actor = domain.Actor{KeyID: "k1", KeyName: "ops"}
)

func wantCode(t *testing.T, err error, code domain.Code) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("code = %q (err %v), want %q", got, err, code)
	}
}

func TestValidateIDs(t *testing.T) {
	for _, id := range []string{"a", "A-z_0", "019362f4-7b1c-7cc3-9d8e-0a1b2c3d4e5f", strings.Repeat("x", 128)} {
		if err := domain.ValidateSessionID(id); err != nil {
			t.Errorf("sessionId %q rejected: %v", id, err)
		}
	}
	for _, id := range []string{"", strings.Repeat("x", 129), "a b", "a/b", "a.b", "é", "a\x00"} {
		err := domain.ValidateSessionID(id)
		wantCode(t, err, domain.CodeValidation)
		if !strings.Contains(err.Error(), "sessionId") {
			t.Errorf("message %q does not name sessionId", err)
		}
	}
	for _, id := range []string{"u-1", "42", "a.b@example.org", "provider|123", "x+y=z~:", strings.Repeat("u", 256)} {
		if err := domain.ValidateUserID(id); err != nil {
			t.Errorf("user id %q rejected: %v", id, err)
		}
	}
	for _, id := range []string{"", strings.Repeat("u", 257), "a b", "a/b", "a%2F", "ü", "a\x00", "a#b"} {
		err := domain.ValidateUserID(id)
		wantCode(t, err, domain.CodeValidation)
		if !strings.Contains(err.Error(), "id") {
			t.Errorf("message %q does not name the id", err)
		}
	}
}

func FuzzValidateIDs(f *testing.F) {
	sessionRE := regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	userRE := regexp.MustCompile(`^[A-Za-z0-9._~:@|+=-]{1,256}$`)
	for _, s := range []string{"", "a", "a b", "provider|1", "é", strings.Repeat("x", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := domain.ValidateSessionID(s) == nil, sessionRE.MatchString(s); got != want {
			t.Errorf("ValidateSessionID(%q) ok = %v, grammar says %v", s, got, want)
		}
		if got, want := domain.ValidateUserID(s) == nil, userRE.MatchString(s); got != want {
			t.Errorf("ValidateUserID(%q) ok = %v, grammar says %v", s, got, want)
		}
	})
}

func TestValidateReason(t *testing.T) {
	if err := domain.ValidateReason(strings.Repeat("ü", 512)); err != nil {
		t.Errorf("512 two-byte characters rejected: %v", err)
	}
	for name, r := range map[string]string{"513": strings.Repeat("a", 513), "utf8": "\xff", "nul": "a\x00"} {
		t.Run(name, func(t *testing.T) { wantCode(t, domain.ValidateReason(r), domain.CodeValidation) })
	}
}

func started(id, user string, ttl time.Duration) domain.SessionStarted {
	return domain.SessionStarted{SessionID: id, UserID: user, StartedAt: t0, ExpiresAt: t0.Add(ttl)}
}

func restore(t *testing.T, evs ...domain.Event) *domain.Session {
	t.Helper()
	s, err := domain.RestoreSession(evs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionStatus(t *testing.T) {
	if s := restore(t); s != nil {
		t.Fatal("empty stream restored a session")
	}
	s := restore(t, started("s1", "u1", time.Hour))
	for _, tc := range []struct {
		at   time.Time
		want domain.Status
	}{{t0, domain.StatusActive}, {t0.Add(time.Hour - time.Nanosecond), domain.StatusActive}, {t0.Add(time.Hour), domain.StatusExpired}} {
		if got := s.Status(tc.at); got != tc.want {
			t.Errorf("status at %v = %s, want %s", tc.at, got, tc.want)
		}
	}
	rev := restore(t, started("s1", "u1", time.Hour), domain.SessionRevoked{SessionID: "s1", UserID: "u1", RevokedAt: t0, RevokedBy: actor})
	if got := rev.Status(t0.Add(2 * time.Hour)); got != domain.StatusRevoked {
		t.Errorf("revoked session after expiry = %s, want revoked", got)
	}
	if rev.Version() != 2 {
		t.Errorf("version = %d, want 2", rev.Version())
	}
	for name, evs := range map[string][]domain.Event{
		"revoked first": {domain.SessionRevoked{SessionID: "s1"}},
		"started twice": {started("s1", "u1", time.Hour), started("s1", "u1", time.Hour)},
	} {
		if _, err := domain.RestoreSession(evs); err == nil {
			t.Errorf("%s: corrupt stream restored", name)
		}
	}
}

func TestDecideStart(t *testing.T) {
	cmd := domain.StartSession{UserID: "u1", SessionID: "s1", ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`{"ua":"curl"}`)}
	ev, err := domain.DecideStart(nil, cmd, t0.In(time.FixedZone("x", 3600)).Add(123))
	if err != nil || ev == nil {
		t.Fatalf("DecideStart = %v, %v", ev, err)
	}
	if ev.StartedAt != t0 || ev.StartedAt.Location() != time.UTC || ev.UserID != "u1" || string(ev.Metadata) != `{"ua":"curl"}` {
		t.Errorf("event = %+v; want UTC microsecond time and the command's fields", ev)
	}
	existing := restore(t, *ev)
	if again, err := domain.DecideStart(existing, cmd, t0); again != nil || err != nil {
		t.Errorf("same user again = %v, %v; want nil, nil", again, err)
	}
	other := cmd
	other.UserID = "u2"
	_, err = domain.DecideStart(existing, other, t0)
	wantCode(t, err, domain.CodeConflict)
	bad := map[string]domain.StartSession{
		"past":        {UserID: "u1", SessionID: "s2", ExpiresAt: t0},
		"big meta":    {UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`{"a":"` + strings.Repeat("x", 4096) + `"}`)},
		"array meta":  {UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`[1]`)},
		"broken meta": {UserID: "u1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`{"a":`)},
		"bad user":    {UserID: "u 1", SessionID: "s2", ExpiresAt: t0.Add(time.Hour)},
		"bad session": {UserID: "u1", SessionID: "s/2", ExpiresAt: t0.Add(time.Hour)},
	}
	for name, c := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := domain.DecideStart(nil, c, t0)
			wantCode(t, err, domain.CodeValidation)
		})
	}
}

func TestDecideRevoke(t *testing.T) {
	active := restore(t, started("s1", "u1", time.Hour))
	cmd := domain.RevokeSession{UserID: "u1", SessionID: "s1", Actor: actor, Reason: "stolen laptop"}
	d, err := domain.DecideRevoke(active, cmd, t0.Add(time.Minute))
	if err != nil || d.Event == nil || d.Original != nil {
		t.Fatalf("revoke active = %+v, %v", d, err)
	}
	want := domain.SessionRevoked{SessionID: "s1", UserID: "u1", RevokedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour), RevokedBy: actor, Reason: "stolen laptop"}
	if !reflect.DeepEqual(*d.Event, want) {
		t.Errorf("event = %+v, want %+v", *d.Event, want)
	}
	if d, err := domain.DecideRevoke(active, cmd, t0.Add(2*time.Hour)); err != nil || d.Event == nil {
		t.Errorf("revoking an expired session = %+v, %v; want an event", d, err)
	}
	revoked := restore(t, started("s1", "u1", time.Hour), want)
	again := cmd
	again.Actor, again.Reason = domain.Actor{KeyID: "k2", KeyName: "other"}, "second try"
	d, err = domain.DecideRevoke(revoked, again, t0.Add(time.Hour))
	if err != nil || d.Event != nil || d.Original == nil {
		t.Fatalf("revoke revoked = %+v, %v; want no event and the original", d, err)
	}
	if d.Original.By != actor || d.Original.Reason != "stolen laptop" || !d.Original.At.Equal(t0.Add(time.Minute)) {
		t.Errorf("original = %+v; want the first revocation", d.Original)
	}
	_, err = domain.DecideRevoke(nil, cmd, t0)
	wantCode(t, err, domain.CodeSessionNotFound)
	_, err = domain.DecideRevoke(active, domain.RevokeSession{UserID: "u2", SessionID: "s1"}, t0)
	wantCode(t, err, domain.CodeSessionNotFound)
	_, err = domain.DecideRevoke(active, domain.RevokeSession{UserID: "u1", SessionID: "s1", Reason: strings.Repeat("r", 513)}, t0)
	wantCode(t, err, domain.CodeValidation)
}

func TestDecideRevokeAll(t *testing.T) {
	sessions := []*domain.Session{
		restore(t, started("a", "u1", time.Hour)),
		restore(t, started("b", "u1", time.Minute)), // expired at t0+1h
		restore(t, started("c", "u1", time.Hour), domain.SessionRevoked{SessionID: "c", UserID: "u1", RevokedAt: t0}),
		restore(t, started("d", "u2", time.Hour)),
		restore(t, started("e", "u1", 2*time.Hour)),
	}
	evs, err := domain.DecideRevokeAll(sessions, domain.RevokeAll{UserID: "u1", Actor: actor, Reason: "offboarding"}, t0.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		if e.RevokedBy != actor || e.Reason != "offboarding" {
			t.Errorf("event %+v lacks the shared actor and reason", e)
		}
		got = append(got, e.SessionID)
	}
	if g := fmt.Sprint(got); g != "[a e]" {
		t.Errorf("revoked %s, want [a e]", g)
	}
}

func TestAdminKeys(t *testing.T) {
	scopes, err := domain.ParseScopes(" sessions:read,audit:read,sessions:read ,")
	if err != nil || fmt.Sprint(scopes) != "[sessions:read audit:read]" {
		t.Fatalf("ParseScopes = %v, %v", scopes, err)
	}
	for _, s := range []string{"", ",", "sessions:delete"} {
		_, err := domain.ParseScopes(s)
		wantCode(t, err, domain.CodeValidation)
	}
	cmd := domain.CreateAdminKey{KeyID: "k1", Name: "ops", Scopes: scopes, KeyHash: strings.Repeat("a", 64)}
	ev, err := domain.DecideCreateKey(nil, cmd, t0)
	if err != nil || ev.KeyID != "k1" || !ev.CreatedAt.Equal(t0) {
		t.Fatalf("DecideCreateKey = %+v, %v", ev, err)
	}
	k, err := domain.RestoreAdminKey([]domain.Event{*ev})
	if err != nil || !k.HasScope(domain.ScopeAuditRead) || k.HasScope(domain.ScopeSessionsRevoke) || k.RevokedAt() != nil {
		t.Fatalf("restored key = %+v, %v", k, err)
	}
	_, err = domain.DecideCreateKey(k, cmd, t0)
	wantCode(t, err, domain.CodeConflict)
	for name, c := range map[string]domain.CreateAdminKey{
		"no name":   {KeyID: "k2", Scopes: scopes, KeyHash: cmd.KeyHash},
		"long name": {KeyID: "k2", Name: strings.Repeat("n", 129), Scopes: scopes, KeyHash: cmd.KeyHash},
		"no scopes": {KeyID: "k2", Name: "x", KeyHash: cmd.KeyHash},
		"bad scope": {KeyID: "k2", Name: "x", Scopes: []domain.Scope{"root"}, KeyHash: cmd.KeyHash},
		"bad hash":  {KeyID: "k2", Name: "x", Scopes: scopes, KeyHash: "abc"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := domain.DecideCreateKey(nil, c, t0)
			wantCode(t, err, domain.CodeValidation)
		})
	}
	rev, err := domain.DecideRevokeKey(k, "k1", &actor, t0)
	if err != nil || rev == nil || rev.KeyID != "k1" {
		t.Fatalf("DecideRevokeKey = %+v, %v", rev, err)
	}
	k, _ = domain.RestoreAdminKey([]domain.Event{*ev, *rev})
	if again, err := domain.DecideRevokeKey(k, "k1", nil, t0); again != nil || err != nil {
		t.Errorf("revoking twice = %+v, %v; want nil, nil", again, err)
	}
	_, err = domain.DecideRevokeKey(nil, "k9", nil, t0)
	wantCode(t, err, domain.CodeKeyNotFound)
}

func TestEventCodec(t *testing.T) {
	events := []domain.Event{
		domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: t0, ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`{"ua":"curl"}`)},
		domain.SessionRevoked{SessionID: "s1", UserID: "u1", RevokedAt: t0, ExpiresAt: t0.Add(time.Hour), RevokedBy: actor, Reason: "r"},
		domain.AdminKeyCreated{KeyID: "k1", Name: "ops", Scopes: domain.AllScopes, KeyHash: strings.Repeat("a", 64), CreatedAt: t0, CreatedBy: &actor},
		domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0},
	}
	for _, e := range events {
		typ, data, err := domain.EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.DecodeEvent(typ, data)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Errorf("%s round trip = %+v, %v; want %+v", typ, back, err, e)
		}
	}
	if got := events[0].StreamID(); got != "session-s1" {
		t.Errorf("session stream = %q", got)
	}
	if got := events[2].StreamID(); got != "adminkey-k1" {
		t.Errorf("key stream = %q", got)
	}
	if _, err := domain.DecodeEvent("Nope", []byte(`{}`)); !errors.Is(err, domain.ErrUnknownEventType) {
		t.Errorf("unknown type: err = %v", err)
	}
}

func TestErrorCode(t *testing.T) {
	e := domain.Errorf(domain.CodeSessionNotFound, "session %s not found", "s1")
	if domain.ErrorCode(nil) != "" || domain.ErrorCode(e) != domain.CodeSessionNotFound ||
		domain.ErrorCode(fmt.Errorf("wrapped: %w", e)) != domain.CodeSessionNotFound ||
		domain.ErrorCode(errors.New("pq: boom")) != domain.CodeInternal {
		t.Error("ErrorCode misclassifies")
	}
	if got := domain.ErrorMessage(errors.New("SELECT secret FROM x")); strings.Contains(got, "SELECT") {
		t.Errorf("internal message leaks: %q", got)
	}
	if got := domain.ErrorMessage(e); got != "session s1 not found" {
		t.Errorf("message = %q", got)
	}
}
