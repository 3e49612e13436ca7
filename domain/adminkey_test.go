package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

var hash64 = strings.Repeat("ab", 32)

func createdKey(id string, scopes ...domain.Scope) domain.AdminKeyCreated {
	return domain.AdminKeyCreated{KeyID: id, Name: "ops", Scopes: scopes, KeyHash: hash64, CreatedAt: t0}
}

func restoreKey(t *testing.T, evs ...domain.Event) *domain.AdminKey {
	t.Helper()
	k, err := domain.RestoreAdminKey(evs)
	if err != nil {
		t.Fatalf("RestoreAdminKey: %v", err)
	}
	return k
}

func TestScopes(t *testing.T) {
	want := []string{"sessions:read", "sessions:write", "sessions:revoke", "audit:read", "ssf:manage", "personal:read"}
	if got := len(domain.AllScopes); got != len(want) {
		t.Fatalf("AllScopes = %v, want %v", domain.AllScopes, want)
	}
	for i, sc := range domain.AllScopes {
		if got, want := string(sc), want[i]; got != want {
			t.Errorf("AllScopes[%d] = %q, want %q", i, got, want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	r, w, rv, a := domain.ScopeSessionsRead, domain.ScopeSessionsWrite, domain.ScopeSessionsRevoke, domain.ScopeAuditRead
	good := []struct {
		name string
		in   string
		want []domain.Scope
	}{
		{"one", "sessions:read", []domain.Scope{r}},
		{"all", "sessions:read,sessions:write,sessions:revoke,audit:read", []domain.Scope{r, w, rv, a}},
		{"order kept", "audit:read,sessions:revoke", []domain.Scope{a, rv}},
		{"dedupe", "sessions:read,sessions:read", []domain.Scope{r}},
		{"dedupe keeps first", "audit:read,sessions:read,audit:read", []domain.Scope{a, r}},
		{"trim", " sessions:read , audit:read ", []domain.Scope{r, a}},
		{"trim tabs", "\tsessions:write\n", []domain.Scope{w}},
		{"dedupe after trim", "audit:read, audit:read ", []domain.Scope{a}},
		{"empty parts", ",sessions:read,, ,", []domain.Scope{r}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ParseScopes(tc.in)
			if err != nil {
				t.Fatalf("ParseScopes(%q): %v", tc.in, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseScopes(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	bad := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"comma", ","},
		{"blank", " , \t"},
		{"unknown", "sessions:delete"},
		{"unknown among known", "sessions:read,root"},
		{"upper case", "SESSIONS:READ"},
		{"inner space", "sessions: read"},
		{"semicolon", "sessions:read;audit:read"},
		{"wildcard", "*"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := domain.ParseScopes(tc.in)
			wantCode(t, err, domain.CodeValidation)
			if got != nil {
				t.Errorf("ParseScopes(%q) = %v with an error", tc.in, got)
			}
		})
	}
}

func TestDecideCreateKey(t *testing.T) {
	scopes := []domain.Scope{domain.ScopeSessionsRead, domain.ScopeAuditRead}
	valid := domain.CreateAdminKey{KeyID: "k1", Name: "ops", Scopes: scopes, KeyHash: hash64, By: &actor}

	t.Run("new", func(t *testing.T) {
		cmd := valid
		cmd.Scopes = slices.Clone(scopes)
		now := time.Date(2026, 3, 1, 15, 3, 0, 123456789, cet)
		ev, err := domain.DecideCreateKey(nil, cmd, now)
		if err != nil || ev == nil {
			t.Fatalf("DecideCreateKey = %+v, %v; want an event", ev, err)
		}
		if got, want := ev.KeyID, "k1"; got != want {
			t.Errorf("KeyID = %q, want %q", got, want)
		}
		if got, want := ev.Name, "ops"; got != want {
			t.Errorf("Name = %q, want %q", got, want)
		}
		if got, want := ev.KeyHash, hash64; got != want {
			t.Errorf("KeyHash = %q, want %q", got, want)
		}
		if !slices.Equal(ev.Scopes, scopes) {
			t.Errorf("Scopes = %v, want %v", ev.Scopes, scopes)
		}
		wantTime(t, "CreatedAt", ev.CreatedAt, time.Date(2026, 3, 1, 14, 3, 0, 123456000, time.UTC))
		if ev.CreatedBy == nil || *ev.CreatedBy != actor {
			t.Errorf("CreatedBy = %+v, want %+v", ev.CreatedBy, actor)
		}
		if got, want := ev.StreamID(), "adminkey-k1"; got != want {
			t.Errorf("StreamID = %q, want %q", got, want)
		}
		cmd.Scopes[0] = domain.ScopeSessionsRevoke
		if got, want := ev.Scopes[0], domain.ScopeSessionsRead; got != want {
			t.Errorf("event scopes share the command's slice: Scopes[0] = %q, want %q", got, want)
		}
	})

	with := func(f func(*domain.CreateAdminKey)) domain.CreateAdminKey {
		c := valid
		f(&c)
		return c
	}
	ok := []struct {
		name string
		cmd  domain.CreateAdminKey
	}{
		{"bootstrap", with(func(c *domain.CreateAdminKey) { c.By = nil })},
		{"name 1", with(func(c *domain.CreateAdminKey) { c.Name = "x" })},
		{"name 128", with(func(c *domain.CreateAdminKey) { c.Name = strings.Repeat("n", 128) })},
		{"name 128 runes", with(func(c *domain.CreateAdminKey) { c.Name = strings.Repeat("é", 128) })},
		{"all scopes", with(func(c *domain.CreateAdminKey) { c.Scopes = domain.AllScopes })},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := domain.DecideCreateKey(nil, tc.cmd, t0)
			if err != nil || ev == nil {
				t.Fatalf("DecideCreateKey = %+v, %v; want an event", ev, err)
			}
			if got, want := ev.Name, tc.cmd.Name; got != want {
				t.Errorf("Name = %q, want %q", got, want)
			}
			if got, want := ev.CreatedBy, tc.cmd.By; got != want {
				t.Errorf("CreatedBy = %v, want %v", got, want)
			}
		})
	}

	bad := []struct {
		name string
		cmd  domain.CreateAdminKey
	}{
		{"no id", with(func(c *domain.CreateAdminKey) { c.KeyID = "" })},
		{"no name", with(func(c *domain.CreateAdminKey) { c.Name = "" })},
		{"name 129", with(func(c *domain.CreateAdminKey) { c.Name = strings.Repeat("n", 129) })},
		{"name 129 runes", with(func(c *domain.CreateAdminKey) { c.Name = strings.Repeat("é", 129) })},
		{"name not utf8", with(func(c *domain.CreateAdminKey) { c.Name = "ops\xff" })},
		{"nil scopes", with(func(c *domain.CreateAdminKey) { c.Scopes = nil })},
		{"empty scopes", with(func(c *domain.CreateAdminKey) { c.Scopes = []domain.Scope{} })},
		{"unknown scope", with(func(c *domain.CreateAdminKey) { c.Scopes = []domain.Scope{"root"} })},
		{"unknown among known", with(func(c *domain.CreateAdminKey) { c.Scopes = []domain.Scope{domain.ScopeSessionsRead, ""} })},
		{"no hash", with(func(c *domain.CreateAdminKey) { c.KeyHash = "" })},
		{"hash 63", with(func(c *domain.CreateAdminKey) { c.KeyHash = hash64[:63] })},
		{"hash 65", with(func(c *domain.CreateAdminKey) { c.KeyHash = hash64 + "a" })},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := domain.DecideCreateKey(nil, tc.cmd, t0)
			wantCode(t, err, domain.CodeValidation)
			if ev != nil {
				t.Errorf("event = %+v with a validation error", ev)
			}
		})
	}

	t.Run("existing", func(t *testing.T) {
		k := restoreKey(t, createdKey("k1", domain.ScopeAuditRead))
		ev, err := domain.DecideCreateKey(k, valid, t0)
		wantCode(t, err, domain.CodeConflict)
		if ev != nil {
			t.Errorf("event = %+v on conflict", ev)
		}
	})
	t.Run("existing revoked", func(t *testing.T) {
		k := restoreKey(t, createdKey("k1", domain.ScopeAuditRead), domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0})
		_, err := domain.DecideCreateKey(k, valid, t0)
		wantCode(t, err, domain.CodeConflict)
	})
}

func TestRestoreAdminKey(t *testing.T) {
	t.Run("nil", func(t *testing.T) {
		k, err := domain.RestoreAdminKey(nil)
		if k != nil || err != nil {
			t.Fatalf("RestoreAdminKey(nil) = %+v, %v; want nil, nil", k, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		k, err := domain.RestoreAdminKey([]domain.Event{})
		if k != nil || err != nil {
			t.Fatalf("RestoreAdminKey(empty) = %+v, %v; want nil, nil", k, err)
		}
	})
	t.Run("created", func(t *testing.T) {
		ev := createdKey("k1", domain.ScopeSessionsRead, domain.ScopeAuditRead)
		ev.Name = "support"
		k := restoreKey(t, ev)
		if got, want := k.ID(), "k1"; got != want {
			t.Errorf("ID = %q, want %q", got, want)
		}
		if got, want := k.Name(), "support"; got != want {
			t.Errorf("Name = %q, want %q", got, want)
		}
		if got, want := k.Scopes(), ev.Scopes; !slices.Equal(got, want) {
			t.Errorf("Scopes = %v, want %v", got, want)
		}
		if got := k.RevokedAt(); got != nil {
			t.Errorf("RevokedAt = %v, want nil", got)
		}
		if got, want := k.Version(), int64(1); got != want {
			t.Errorf("Version = %d, want %d", got, want)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		k := restoreKey(t, createdKey("k1", domain.ScopeAuditRead), domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0.Add(time.Minute)})
		if k.RevokedAt() == nil {
			t.Fatal("RevokedAt = nil")
		}
		if got, want := *k.RevokedAt(), t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("RevokedAt = %v, want %v", got, want)
		}
		if got, want := k.Version(), int64(2); got != want {
			t.Errorf("Version = %d, want %d", got, want)
		}
	})
	t.Run("first revocation wins", func(t *testing.T) {
		k := restoreKey(t, createdKey("k1", domain.ScopeAuditRead),
			domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0.Add(time.Minute)},
			domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0.Add(time.Hour)})
		if k.RevokedAt() == nil {
			t.Fatal("RevokedAt = nil")
		}
		if got, want := *k.RevokedAt(), t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("RevokedAt = %v, want %v", got, want)
		}
		if got, want := k.Version(), int64(3); got != want {
			t.Errorf("Version = %d, want %d", got, want)
		}
	})
	corrupt := []struct {
		name   string
		events []domain.Event
	}{
		{"revoked first", []domain.Event{domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0}}},
		{"created twice", []domain.Event{createdKey("k1", domain.ScopeAuditRead), createdKey("k1", domain.ScopeAuditRead)}},
		{"session event", []domain.Event{started("s1", "u1", time.Hour)}},
		{"session event later", []domain.Event{createdKey("k1", domain.ScopeAuditRead), revoked("s1", "u1", t0, actor, "")}},
	}
	for _, tc := range corrupt {
		t.Run(tc.name, func(t *testing.T) {
			k, err := domain.RestoreAdminKey(tc.events)
			if err == nil {
				t.Fatalf("RestoreAdminKey = %+v, nil; want an error", k)
			}
			if k != nil {
				t.Errorf("RestoreAdminKey returned a key with error %v", err)
			}
		})
	}
}

func TestDecideRevokeKey(t *testing.T) {
	active := restoreKey(t, createdKey("k1", domain.ScopeAuditRead))
	t.Run("active", func(t *testing.T) {
		now := time.Date(2026, 3, 1, 15, 3, 0, 123456789, cet)
		ev, err := domain.DecideRevokeKey(active, "k1", &other, now)
		if err != nil || ev == nil {
			t.Fatalf("DecideRevokeKey = %+v, %v; want an event", ev, err)
		}
		if got, want := ev.KeyID, "k1"; got != want {
			t.Errorf("KeyID = %q, want %q", got, want)
		}
		wantTime(t, "RevokedAt", ev.RevokedAt, time.Date(2026, 3, 1, 14, 3, 0, 123456000, time.UTC))
		if ev.RevokedBy == nil || *ev.RevokedBy != other {
			t.Errorf("RevokedBy = %+v, want %+v", ev.RevokedBy, other)
		}
		if got, want := ev.StreamID(), "adminkey-k1"; got != want {
			t.Errorf("StreamID = %q, want %q", got, want)
		}
	})
	t.Run("no actor", func(t *testing.T) {
		ev, err := domain.DecideRevokeKey(active, "k1", nil, t0)
		if err != nil || ev == nil {
			t.Fatalf("DecideRevokeKey = %+v, %v; want an event", ev, err)
		}
		if ev.RevokedBy != nil {
			t.Errorf("RevokedBy = %+v, want nil", ev.RevokedBy)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		k := restoreKey(t, createdKey("k1", domain.ScopeAuditRead), domain.AdminKeyRevoked{KeyID: "k1", RevokedAt: t0})
		ev, err := domain.DecideRevokeKey(k, "k1", &actor, t0.Add(time.Hour))
		if ev != nil || err != nil {
			t.Errorf("DecideRevokeKey = %+v, %v; want nil, nil", ev, err)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		ev, err := domain.DecideRevokeKey(nil, "k9", &actor, t0)
		wantCode(t, err, domain.CodeKeyNotFound)
		if ev != nil {
			t.Errorf("event = %+v for an unknown key", ev)
		}
		if msg := domain.ErrorMessage(err); !strings.Contains(msg, "k9") {
			t.Errorf("message %q does not name the key", msg)
		}
	})
}

func TestHasScope(t *testing.T) {
	some := restoreKey(t, createdKey("k1", domain.ScopeSessionsRead, domain.ScopeAuditRead))
	all := restoreKey(t, createdKey("k2", domain.AllScopes...))
	tests := []struct {
		name string
		key  *domain.AdminKey
		sc   domain.Scope
		want bool
	}{
		{"read", some, domain.ScopeSessionsRead, true},
		{"audit", some, domain.ScopeAuditRead, true},
		{"write", some, domain.ScopeSessionsWrite, false},
		{"revoke", some, domain.ScopeSessionsRevoke, false},
		{"empty", some, "", false},
		{"unknown", some, "root", false},
		{"all read", all, domain.ScopeSessionsRead, true},
		{"all write", all, domain.ScopeSessionsWrite, true},
		{"all revoke", all, domain.ScopeSessionsRevoke, true},
		{"all audit", all, domain.ScopeAuditRead, true},
		{"all unknown", all, "sessions:*", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.key.HasScope(tc.sc), tc.want; got != want {
				t.Errorf("HasScope(%q) = %v, want %v", tc.sc, got, want)
			}
		})
	}
}
