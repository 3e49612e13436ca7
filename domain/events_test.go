package domain_test

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// tus is a time with microseconds, as decisions produce them.
var tus = time.Date(2026, 3, 1, 14, 3, 0, 123456000, time.UTC)

// sameEvent compares two events field by field, times with Equal.
func sameEvent(t *testing.T, got, want domain.Event) {
	t.Helper()
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		t.Fatalf("event type = %T, want %T", got, want)
	}
	eqTime := func(name string, g, w time.Time) {
		t.Helper()
		if !g.Equal(w) {
			t.Errorf("%s = %v, want %v", name, g, w)
		}
	}
	eqActor := func(name string, g, w *domain.Actor) {
		t.Helper()
		if (g == nil) != (w == nil) || g != nil && *g != *w {
			t.Errorf("%s = %+v, want %+v", name, g, w)
		}
	}
	switch w := want.(type) {
	case domain.SessionStarted:
		g := got.(domain.SessionStarted)
		if g.SessionID != w.SessionID || g.UserID != w.UserID || !bytes.Equal(g.Metadata, w.Metadata) {
			t.Errorf("event = %+v, want %+v", g, w)
		}
		eqTime("StartedAt", g.StartedAt, w.StartedAt)
		eqTime("ExpiresAt", g.ExpiresAt, w.ExpiresAt)
	case domain.SessionRevoked:
		g := got.(domain.SessionRevoked)
		if g.SessionID != w.SessionID || g.UserID != w.UserID || g.RevokedBy != w.RevokedBy || g.Reason != w.Reason {
			t.Errorf("event = %+v, want %+v", g, w)
		}
		eqTime("RevokedAt", g.RevokedAt, w.RevokedAt)
		eqTime("ExpiresAt", g.ExpiresAt, w.ExpiresAt)
	case domain.AdminKeyCreated:
		g := got.(domain.AdminKeyCreated)
		if g.KeyID != w.KeyID || g.Name != w.Name || g.KeyHash != w.KeyHash || !slices.Equal(g.Scopes, w.Scopes) {
			t.Errorf("event = %+v, want %+v", g, w)
		}
		eqTime("CreatedAt", g.CreatedAt, w.CreatedAt)
		eqActor("CreatedBy", g.CreatedBy, w.CreatedBy)
	case domain.AdminKeyRevoked:
		g := got.(domain.AdminKeyRevoked)
		if g.KeyID != w.KeyID {
			t.Errorf("event = %+v, want %+v", g, w)
		}
		eqTime("RevokedAt", g.RevokedAt, w.RevokedAt)
		eqActor("RevokedBy", g.RevokedBy, w.RevokedBy)
	default:
		t.Fatalf("unexpected event type %T", want)
	}
}

func TestEventTypes(t *testing.T) {
	// The type names are stored in the events table: they must never change.
	tests := []struct {
		name  string
		event domain.Event
		want  string
	}{
		{"started", domain.SessionStarted{}, "SessionStarted"},
		{"revoked", domain.SessionRevoked{}, "SessionRevoked"},
		{"key created", domain.AdminKeyCreated{}, "AdminKeyCreated"},
		{"key revoked", domain.AdminKeyRevoked{}, "AdminKeyRevoked"},
	}
	consts := []string{domain.TypeSessionStarted, domain.TypeSessionRevoked, domain.TypeAdminKeyCreated, domain.TypeAdminKeyRevoked}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.event.EventType(), tc.want; got != want {
				t.Errorf("EventType = %q, want %q", got, want)
			}
			if got, want := consts[i], tc.want; got != want {
				t.Errorf("type constant = %q, want %q", got, want)
			}
		})
	}
}

func TestStreamID(t *testing.T) {
	tests := []struct {
		name  string
		event domain.Event
		want  string
	}{
		{"started", domain.SessionStarted{SessionID: "s1", UserID: "u1"}, "session-s1"},
		{"revoked", domain.SessionRevoked{SessionID: "A-z_0", UserID: "u1"}, "session-A-z_0"},
		{"key created", domain.AdminKeyCreated{KeyID: "k1", Name: "ops"}, "adminkey-k1"},
		{"key revoked", domain.AdminKeyRevoked{KeyID: "019362f4-7b1c"}, "adminkey-019362f4-7b1c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.event.StreamID(), tc.want; got != want {
				t.Errorf("StreamID = %q, want %q", got, want)
			}
		})
	}
	t.Run("session", func(t *testing.T) {
		if got, want := domain.SessionStream("s9"), "session-s9"; got != want {
			t.Errorf("SessionStream = %q, want %q", got, want)
		}
	})
	t.Run("adminkey", func(t *testing.T) {
		if got, want := domain.AdminKeyStream("k9"), "adminkey-k9"; got != want {
			t.Errorf("AdminKeyStream = %q, want %q", got, want)
		}
	})
}

func TestEventCodec(t *testing.T) {
	hash := "ab" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
	tests := []struct {
		name  string
		event domain.Event
		json  string
	}{
		{
			"started",
			domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: tus, ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`{"ua":"curl"}`)},
			`{"sessionId":"s1","userId":"u1","startedAt":"2026-03-01T14:03:00.123456Z","expiresAt":"2026-03-01T15:03:00Z","metadata":{"ua":"curl"}}`,
		},
		{
			"started without metadata",
			domain.SessionStarted{SessionID: "s1", UserID: "a.b@example.org", StartedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			`{"sessionId":"s1","userId":"a.b@example.org","startedAt":"2026-03-01T14:03:00Z","expiresAt":"2026-03-01T15:03:00Z"}`,
		},
		{
			"revoked",
			domain.SessionRevoked{SessionID: "s1", UserID: "u1", RevokedAt: tus, ExpiresAt: t0.Add(time.Hour), RevokedBy: actor, Reason: "stolen laptop ü"},
			`{"sessionId":"s1","userId":"u1","revokedAt":"2026-03-01T14:03:00.123456Z","expiresAt":"2026-03-01T15:03:00Z","revokedBy":{"keyId":"k1","keyName":"ops"},"reason":"stolen laptop ü"}`,
		},
		{
			"key created",
			domain.AdminKeyCreated{KeyID: "k1", Name: "ops", Scopes: []domain.Scope{domain.ScopeSessionsRead, domain.ScopeAuditRead}, KeyHash: hash, CreatedAt: tus, CreatedBy: &actor},
			`{"keyId":"k1","name":"ops","scopes":["sessions:read","audit:read"],"keyHash":"` + hash + `","createdAt":"2026-03-01T14:03:00.123456Z","createdBy":{"keyId":"k1","keyName":"ops"}}`,
		},
		{
			"key created bootstrap",
			domain.AdminKeyCreated{KeyID: "k0", Name: "root", Scopes: domain.AllScopes, KeyHash: hash, CreatedAt: t0},
			`{"keyId":"k0","name":"root","scopes":["sessions:read","sessions:write","sessions:revoke","audit:read","ssf:manage","personal:read"],"keyHash":"` + hash + `","createdAt":"2026-03-01T14:03:00Z"}`,
		},
		{
			"key revoked",
			domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: tus, RevokedBy: &other},
			`{"keyId":"k1","revokedAt":"2026-03-01T14:03:00.123456Z","revokedBy":{"keyId":"k2","keyName":"support"}}`,
		},
		{
			"key revoked no actor",
			domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0},
			`{"keyId":"k1","revokedAt":"2026-03-01T14:03:00Z"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, data, err := domain.EncodeEvent(tc.event)
			if err != nil {
				t.Fatalf("EncodeEvent: %v", err)
			}
			if got, want := typ, tc.event.EventType(); got != want {
				t.Errorf("type = %q, want %q", got, want)
			}
			if got, want := string(data), tc.json; got != want {
				t.Errorf("data = %s\nwant   %s", got, want)
			}
			back, err := domain.DecodeEvent(typ, data)
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			sameEvent(t, back, tc.event)
			if !reflect.DeepEqual(back, tc.event) {
				t.Errorf("round trip = %#v, want %#v", back, tc.event)
			}
		})
	}
}

func TestDecodeEventUnknownType(t *testing.T) {
	for _, typ := range []string{"Nope", "", "sessionstarted", "SessionStarted ", "AdminKeyDeleted"} {
		t.Run(typ, func(t *testing.T) {
			e, err := domain.DecodeEvent(typ, []byte(`{}`))
			if !errors.Is(err, domain.ErrUnknownEventType) {
				t.Errorf("err = %v, want ErrUnknownEventType", err)
			}
			if e != nil {
				t.Errorf("event = %+v with an error", e)
			}
		})
	}
}

func TestDecodeEventBadData(t *testing.T) {
	tests := []struct {
		name string
		typ  string
		data string
	}{
		{"truncated", domain.TypeSessionStarted, `{"sessionId":`},
		{"not json", domain.TypeSessionRevoked, `nope`},
		{"bad time", domain.TypeSessionStarted, `{"startedAt":"yesterday"}`},
		{"bad scopes", domain.TypeAdminKeyCreated, `{"scopes":"audit:read"}`},
		{"bad actor", domain.TypeAdminKeyRevoked, `{"revokedBy":"k1"}`},
		{"array", domain.TypeAdminKeyRevoked, `[]`},
		{"empty", domain.TypeSessionRevoked, ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := domain.DecodeEvent(tc.typ, []byte(tc.data))
			if err == nil {
				t.Fatalf("DecodeEvent = %+v, nil; want an error", e)
			}
			if errors.Is(err, domain.ErrUnknownEventType) {
				t.Errorf("err = %v is ErrUnknownEventType for a known type", err)
			}
			if e != nil {
				t.Errorf("event = %+v with an error", e)
			}
		})
	}
}

func TestDecisionsRoundTrip(t *testing.T) {
	// Events decided from non-UTC, nanosecond times read back exactly.
	now := time.Date(2026, 3, 1, 15, 3, 0, 123456789, cet)
	start, err := domain.DecideStart(nil, domain.StartSession{UserID: "u1", SessionID: "s1", ExpiresAt: now.Add(time.Hour)}, now)
	if err != nil {
		t.Fatal(err)
	}
	s := restore(t, *start)
	rev, err := domain.DecideRevoke(s, domain.RevokeSession{UserID: "u1", SessionID: "s1", Actor: actor}, now.Add(time.Minute))
	if err != nil || rev.Event == nil {
		t.Fatalf("DecideRevoke = %+v, %v", rev, err)
	}
	key, err := domain.DecideCreateKey(nil, domain.CreateAdminKey{KeyID: "k1", Name: "ops", Scopes: domain.AllScopes, KeyHash: hash64}, now)
	if err != nil {
		t.Fatal(err)
	}
	keyRev, err := domain.DecideRevokeKey(restoreKey(t, *key), "k1", &actor, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []domain.Event{*start, *rev.Event, *key, *keyRev} {
		t.Run(e.EventType(), func(t *testing.T) {
			typ, data, err := domain.EncodeEvent(e)
			if err != nil {
				t.Fatal(err)
			}
			back, err := domain.DecodeEvent(typ, data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Errorf("round trip = %#v, want %#v", back, e)
			}
		})
	}
}

func TestEncodeEventError(t *testing.T) {
	e := domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: t0, ExpiresAt: t0.Add(time.Hour), Metadata: []byte(`{"a":`)}
	typ, data, err := domain.EncodeEvent(e)
	if err == nil {
		t.Fatalf("EncodeEvent = %q, %s, nil; want an error for invalid metadata", typ, data)
	}
	if typ != "" || data != nil {
		t.Errorf("EncodeEvent = %q, %s with error %v", typ, data, err)
	}
}
