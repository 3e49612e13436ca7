package server

import (
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/sessiond/sessiond/internal/adminoidc"
)

// AdminOIDC is the configuration of people signing in to the admin API
// with OIDC access tokens ("Admin sign-in" in the README).
type AdminOIDC struct {
	Issuers    []string // --admin-oidc-issuer, repeatable or comma-separated
	Audience   string
	ScopeClaim string
	ScopeMap   string // value=scope,… (adminoidc.ParseScopeMap)
	RequireAMR string // comma-separated
	RequireACR string // comma-separated
	KeysMaxAge time.Duration
}

// bindAdminOIDCFlags registers the --admin-oidc-* flags on fs.
func (c *Config) bindAdminOIDCFlags(fs *flag.FlagSet, env func(name, def string) string) {
	o := &c.AdminOIDC
	o.Issuers = splitList(env("SESSIOND_ADMIN_OIDC_ISSUER", ""))
	set := false
	fs.Func("admin-oidc-issuer", "issuer URL whose access tokens authenticate people on the admin API; repeat or comma-separate for several (SESSIOND_ADMIN_OIDC_ISSUER)", func(v string) error {
		if !set { // the flag replaces the environment's list
			o.Issuers, set = nil, true
		}
		o.Issuers = append(o.Issuers, splitList(v)...)
		return nil
	})
	fs.StringVar(&o.Audience, "admin-oidc-audience", env("SESSIOND_ADMIN_OIDC_AUDIENCE", ""), "aud that admin access tokens must carry (required with an issuer) (SESSIOND_ADMIN_OIDC_AUDIENCE)")
	fs.StringVar(&o.ScopeClaim, "admin-oidc-scope-claim", env("SESSIOND_ADMIN_OIDC_SCOPE_CLAIM", adminoidc.DefaultScopeClaim), "claim whose values grant scopes: scope, roles, groups, or a dotted path such as realm_access.roles (SESSIOND_ADMIN_OIDC_SCOPE_CLAIM)")
	fs.StringVar(&o.ScopeMap, "admin-oidc-scope-map", env("SESSIOND_ADMIN_OIDC_SCOPE_MAP", ""), "claim value to scope, value=scope,… (repeat a value for several scopes); empty: values that are sessiond scope names grant those (SESSIOND_ADMIN_OIDC_SCOPE_MAP)")
	fs.StringVar(&o.RequireAMR, "admin-oidc-require-amr", env("SESSIOND_ADMIN_OIDC_REQUIRE_AMR", ""), "comma-separated amr values every access token must carry, e.g. mfa (SESSIOND_ADMIN_OIDC_REQUIRE_AMR)")
	fs.StringVar(&o.RequireACR, "admin-oidc-require-acr", env("SESSIOND_ADMIN_OIDC_REQUIRE_ACR", ""), "comma-separated acr values accepted; empty: any (SESSIOND_ADMIN_OIDC_REQUIRE_ACR)")
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// validateAdminOIDC checks the --admin-oidc-* settings.
func (c *Config) validateAdminOIDC() error {
	o := c.AdminOIDC
	if len(o.Issuers) == 0 {
		if o.Audience != "" || o.ScopeMap != "" || o.RequireAMR != "" || o.RequireACR != "" {
			return configError("--admin-oidc-issuer (SESSIOND_ADMIN_OIDC_ISSUER)", "required by the other --admin-oidc-* settings")
		}
		return nil
	}
	for _, iss := range o.Issuers {
		if !strings.HasPrefix(iss, "https://") && !strings.HasPrefix(iss, "http://") {
			return configError("--admin-oidc-issuer (SESSIOND_ADMIN_OIDC_ISSUER)", "%q is not an https:// URL", iss)
		}
	}
	if o.Audience == "" {
		return configError("--admin-oidc-audience (SESSIOND_ADMIN_OIDC_AUDIENCE)", "required with --admin-oidc-issuer")
	}
	if _, err := adminoidc.ParseScopeMap(o.ScopeMap); err != nil {
		return configError("--admin-oidc-scope-map (SESSIOND_ADMIN_OIDC_SCOPE_MAP)", "%v", err)
	}
	return nil
}

// adminPeople returns the verifier of people's access tokens, or nil when
// no issuer is configured.
func (c *Config) adminPeople(log *slog.Logger) (*adminoidc.Verifier, error) {
	o := c.AdminOIDC
	if len(o.Issuers) == 0 {
		return nil, nil
	}
	m, err := adminoidc.ParseScopeMap(o.ScopeMap)
	if err != nil {
		return nil, configError("--admin-oidc-scope-map (SESSIOND_ADMIN_OIDC_SCOPE_MAP)", "%v", err)
	}
	v, err := adminoidc.New(adminoidc.Config{
		Issuers: o.Issuers, Audience: o.Audience, ScopeClaim: o.ScopeClaim, ScopeMap: m,
		RequireAMR: splitList(o.RequireAMR), RequireACR: splitList(o.RequireACR),
		KeysMaxAge: o.KeysMaxAge, Logger: log,
	})
	if err != nil {
		return nil, configError("--admin-oidc-issuer (SESSIOND_ADMIN_OIDC_ISSUER)", "%v", err)
	}
	return v, nil
}
