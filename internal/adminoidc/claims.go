package adminoidc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// claims are the token claims sessiond reads besides the scope claim.
type claims struct {
	Subject   string   `json:"sub"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	AMR       []string `json:"amr"`
	ACR       string   `json:"acr"`
	Expiry    *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
}

// timely checks exp (required) and nbf, each with leeway.
func (c *claims) timely(now time.Time, leeway time.Duration) error {
	if c.Expiry == nil {
		return errors.New("the token has no exp")
	}
	if exp := unix(*c.Expiry); !now.Before(exp.Add(leeway)) {
		return fmt.Errorf("the token expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if c.NotBefore != nil {
		if nbf := unix(*c.NotBefore); now.Add(leeway).Before(nbf) {
			return fmt.Errorf("the token is not valid before %s", nbf.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

func unix(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// strongEnough checks the required authentication methods and context
// class: a valid token that fails them is FORBIDDEN, not invalid.
func (c *claims) strongEnough(amr, acr []string) error {
	for _, m := range amr {
		if !slices.Contains(c.AMR, m) {
			return domain.Errorf(domain.CodeForbidden,
				"this sign-in did not use %s: the access token's amr claim (%s) must include %q; sign in again with multi-factor authentication",
				m, orNone(c.AMR), m)
		}
	}
	if len(acr) > 0 && !slices.Contains(acr, c.ACR) {
		return domain.Errorf(domain.CodeForbidden,
			"this sign-in's authentication class (acr %q) is not accepted: want one of %s; sign in again with a stronger method",
			c.ACR, strings.Join(acr, ", "))
	}
	return nil
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, " ")
}

// scopes maps the scope claim's values to sessiond scopes, in the order
// of domain.AllScopes.
func (v *Verifier) scopes(all map[string]any) []domain.Scope {
	granted := map[domain.Scope]bool{}
	for _, val := range claimValues(all, v.cfg.ScopeClaim) {
		if v.cfg.ScopeMap == nil {
			if s := domain.Scope(val); slices.Contains(domain.AllScopes, s) {
				granted[s] = true
			}
			continue
		}
		for _, s := range v.cfg.ScopeMap[val] {
			granted[s] = true
		}
	}
	var out []domain.Scope
	for _, s := range domain.AllScopes {
		if granted[s] {
			out = append(out, s)
		}
	}
	return out
}

// claimValues returns the values of a claim: a top-level claim of that
// exact name (names may contain dots, like Auth0's namespaced claims), or
// else a dotted path into nested objects (Keycloak's realm_access.roles).
// A string is split on spaces (the scope claim), an array yields its
// strings, an object its keys (ZITADEL's project roles claim).
func claimValues(all map[string]any, name string) []string {
	val, ok := all[name]
	if !ok {
		var cur any = all
		for part := range strings.SplitSeq(name, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil
			}
			if cur, ok = m[part]; !ok {
				return nil
			}
		}
		val = cur
	}
	switch t := val.(type) {
	case string:
		return strings.Fields(t)
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case map[string]any:
		out := make([]string, 0, len(t))
		for k := range t {
			out = append(out, k)
		}
		return out
	}
	return nil
}
