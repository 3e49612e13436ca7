package adminoidc_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/adminoidc"
	"github.com/sessiond/sessiond/internal/oidctest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// While the issuer is down, its cached keys verify until they are
// KeysMaxAge old; after that every token is UNAVAILABLE until the issuer
// answers again, and then the same token verifies again.
func TestKeysOutliveOutageUntilMaxAge(t *testing.T) {
	idp := oidctest.Start(t)
	clk := &clock{t: time.Now()}
	v, err := adminoidc.New(adminoidc.Config{Issuers: []string{idp.Issuer()}, Audience: "api",
		KeysRefresh: time.Hour, KeysMaxAge: 24 * time.Hour, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	claims := idp.Claims("u-1", "api")
	claims["exp"] = clk.now().Add(48 * time.Hour).Unix()
	tok := idp.Sign(t, claims)
	verify := func() domain.Code {
		_, err := v.Verify(context.Background(), tok)
		return domain.ErrorCode(err)
	}
	if got := verify(); got != "" {
		t.Fatalf("issuer up: %v", got)
	}
	idp.SetDown(true)
	clk.add(23 * time.Hour) // past the refresh, within the max age
	if got := verify(); got != "" {
		t.Fatalf("issuer down, keys 23h old: %v", got)
	}
	clk.add(time.Hour + time.Second)
	if got, want := verify(), domain.CodeUnavailable; got != want {
		t.Fatalf("issuer down, keys 24h old: %v, want %v", got, want)
	}
	idp.SetDown(false)
	clk.add(time.Minute) // past the retry pause after a failed fetch
	if got := verify(); got != "" {
		t.Fatalf("issuer back: %v", got)
	}
}

// Discovery that fails at first is retried: the issuer may be down when
// sessiond starts.
func TestDiscoveryRetried(t *testing.T) {
	idp := oidctest.Start(t)
	clk := &clock{t: time.Now()}
	v, err := adminoidc.New(adminoidc.Config{Issuers: []string{idp.Issuer()}, Audience: "api", Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	tok := idp.Sign(t, idp.Claims("u-1", "api"))
	idp.SetDown(true)
	if _, err := v.Verify(context.Background(), tok); domain.ErrorCode(err) != domain.CodeUnavailable {
		t.Fatalf("issuer down at first use: %v, want UNAVAILABLE", err)
	}
	idp.SetDown(false)
	clk.add(time.Minute)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("issuer back: %v", err)
	}
}

// The scope claim's values map to scopes: identity without a map (only
// sessiond scope names), through the map otherwise; strings, arrays,
// objects (ZITADEL) and dotted paths (Keycloak) all work.
func TestScopesFromClaims(t *testing.T) {
	idp := oidctest.Start(t)
	m, err := adminoidc.ParseScopeMap("ops=sessions:revoke, ops=sessions:read,Sessiond.Audit=audit:read")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, claim string
		scopeMap    map[string][]domain.Scope
		value       any
		want        []domain.Scope
	}{
		{"scope string", "", nil, "openid sessions:read profile audit:read", []domain.Scope{domain.ScopeSessionsRead, domain.ScopeAuditRead}},
		{"groups mapped", "groups", m, []string{"ops", "staff"}, []domain.Scope{domain.ScopeSessionsRead, domain.ScopeSessionsRevoke}},
		{"unmapped scope name", "groups", m, []string{"sessions:write"}, nil},
		{"roles object", "urn:zitadel:iam:org:project:roles", m, map[string]any{"Sessiond.Audit": map[string]any{"1": "org"}}, []domain.Scope{domain.ScopeAuditRead}},
		{"dotted path", "realm_access.roles", m, nil, []domain.Scope{domain.ScopeSessionsRead, domain.ScopeSessionsRevoke}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := adminoidc.New(adminoidc.Config{Issuers: []string{idp.Issuer()}, Audience: "api", ScopeClaim: tc.claim, ScopeMap: tc.scopeMap})
			if err != nil {
				t.Fatal(err)
			}
			c := idp.Claims("u-1", "api")
			name := tc.claim
			if name == "" {
				name = "scope"
			}
			c[name] = tc.value
			if name == "realm_access.roles" {
				delete(c, name)
				c["realm_access"] = map[string]any{"roles": []string{"ops"}}
			}
			p, err := v.Verify(context.Background(), idp.Sign(t, c))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Scopes, tc.want) {
				t.Errorf("scopes = %v, want %v", p.Scopes, tc.want)
			}
			if a := p.Actor(); a.Kind != domain.ActorOIDC || a.Subject != "u-1" || a.Issuer != idp.Issuer() {
				t.Errorf("actor = %+v", a)
			}
		})
	}
}

func TestParseScopeMapRefusesUnknownScope(t *testing.T) {
	for _, bad := range []string{"ops=sessions:delete", "ops", "=audit:read"} {
		if _, err := adminoidc.ParseScopeMap(bad); err == nil {
			t.Errorf("ParseScopeMap(%q) accepted", bad)
		}
	}
}

// A key the issuer withdraws stops verifying once the cached JWKS is
// refreshed (KeysRefresh), without any token with a new kid arriving.
func TestWithdrawnKeyStopsVerifying(t *testing.T) {
	idp := oidctest.Start(t)
	clk := &clock{t: time.Now()}
	v, err := adminoidc.New(adminoidc.Config{Issuers: []string{idp.Issuer()}, Audience: "api",
		KeysRefresh: 5 * time.Minute, Clock: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	c := idp.Claims("u-1", "api")
	c["exp"] = clk.now().Add(time.Hour).Unix()
	old := idp.Sign(t, c)
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	idp.Rotate(t) // the old key leaves the JWKS
	if _, err := v.Verify(context.Background(), old); err != nil {
		t.Fatalf("before the refresh is due the cached key still verifies: %v", err)
	}
	clk.add(6 * time.Minute)
	waitfor.Cond(t, 10*time.Second, func() error {
		_, err := v.Verify(context.Background(), old)
		if got := domain.ErrorCode(err); got != domain.CodeAdminSessionInvalid {
			return fmt.Errorf("withdrawn key: %v", err)
		}
		return nil
	})
}

// With several issuers, each token is verified by the issuer its iss
// names, with that issuer's keys only.
func TestSeveralIssuers(t *testing.T) {
	a, b := oidctest.Start(t), oidctest.Start(t)
	b.Rotate(t) // distinct keys
	v, err := adminoidc.New(adminoidc.Config{Issuers: []string{a.Issuer(), b.Issuer()}, Audience: "api"})
	if err != nil {
		t.Fatal(err)
	}
	for _, idp := range []*oidctest.IdP{a, b} {
		p, err := v.Verify(context.Background(), idp.Sign(t, idp.Claims("u-1", "api")))
		if err != nil {
			t.Fatalf("%s: %v", idp.Issuer(), err)
		}
		if got := p.Actor().Issuer; got != idp.Issuer() {
			t.Errorf("actor iss = %s, want %s", got, idp.Issuer())
		}
	}
	// b's key signing a token that claims a's issuer.
	forged := b.Sign(t, a.Claims("u-1", "api"))
	if _, err := v.Verify(context.Background(), forged); domain.ErrorCode(err) != domain.CodeAdminSessionInvalid {
		t.Fatalf("token of b claiming a: %v, want ADMIN_SESSION_INVALID", err)
	}
}

// With OmitProfile the actor names a person by iss and sub alone: the
// name and email claims never reach the hash-chained log.
func TestOmitProfile(t *testing.T) {
	idp := oidctest.Start(t)
	c := idp.Claims("u-1", "api")
	c["name"], c["email"] = "Ada Lovelace", "ada@example.com"
	tok := idp.Sign(t, c)
	for _, omit := range []bool{false, true} {
		v, err := adminoidc.New(adminoidc.Config{Issuers: []string{idp.Issuer()}, Audience: "api", OmitProfile: omit})
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		a := p.Actor()
		if omit && (a.Name != "" || a.Email != "" || a.Label() != "u-1" || p.Name != "u-1") {
			t.Errorf("omitted profile: actor %+v, principal name %q; want iss and sub alone", a, p.Name)
		}
		if !omit && (a.Name != "Ada Lovelace" || a.Email != "ada@example.com") {
			t.Errorf("recorded profile: actor %+v", a)
		}
		if a.Subject != "u-1" || a.Issuer != idp.Issuer() {
			t.Errorf("actor %+v lacks iss and sub", a)
		}
	}
}
