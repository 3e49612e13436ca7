package server

import (
	"flag"
	"log/slog"
	"net/url"
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
	// RecordProfile puts the tokens' name and email into actors (default
	// true); false: iss and sub alone.
	RecordProfile bool

	// The console's sign-in through the first issuer (--console-oidc-*).
	ConsoleClientID     string
	ConsoleClientSecret string
	ConsoleRedirectURL  string
	ConsoleScopes       string // comma- or space-separated
	// ConsoleKeySignIn offers sign-in with an admin key in the console
	// (default true).
	ConsoleKeySignIn bool
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
	fs.StringVar(&o.ConsoleClientID, "console-oidc-client-id", env("SESSIOND_CONSOLE_OIDC_CLIENT_ID", ""), "client id of the web console at the first --admin-oidc-issuer; set, the console signs people in there (authorization code flow with PKCE) (SESSIOND_CONSOLE_OIDC_CLIENT_ID)")
	fs.StringVar(&o.ConsoleClientSecret, "console-oidc-client-secret", env("SESSIOND_CONSOLE_OIDC_CLIENT_SECRET", ""), "the console client's secret; empty: a public client, PKCE alone (prefer the environment variable) (SESSIOND_CONSOLE_OIDC_CLIENT_SECRET)")
	fs.StringVar(&o.ConsoleRedirectURL, "console-oidc-redirect-url", env("SESSIOND_CONSOLE_OIDC_REDIRECT_URL", ""), "the console's redirect URI as registered at the provider, ending in /console/signin/oidc/callback; empty: derived from each request's Host (SESSIOND_CONSOLE_OIDC_REDIRECT_URL)")
	o.RecordProfile = true
	fs.BoolFunc("admin-oidc-record-profile", "record a person's name and email claims in the actor of their events; false: iss and sub alone, since the hash-chained log cannot erase them later (default true) (SESSIOND_ADMIN_OIDC_RECORD_PROFILE)", boolFlag(&o.RecordProfile))
	if v := env("SESSIOND_ADMIN_OIDC_RECORD_PROFILE", ""); v != "" && c.envErr == nil {
		if err := boolFlag(&o.RecordProfile)(v); err != nil {
			c.envErr = configError("--admin-oidc-record-profile (SESSIOND_ADMIN_OIDC_RECORD_PROFILE)", "%v", err)
		}
	}
	o.ConsoleKeySignIn = true
	fs.BoolFunc("console-key-signin", "offer sign-in with an admin key in the web console; false: only the identity provider (needs --console-oidc-client-id) (default true) (SESSIOND_CONSOLE_KEY_SIGNIN)", boolFlag(&o.ConsoleKeySignIn))
	if v := env("SESSIOND_CONSOLE_KEY_SIGNIN", ""); v != "" && c.envErr == nil {
		if err := boolFlag(&o.ConsoleKeySignIn)(v); err != nil {
			c.envErr = configError("--console-key-signin (SESSIOND_CONSOLE_KEY_SIGNIN)", "%v", err)
		}
	}
	fs.StringVar(&o.ConsoleScopes, "console-oidc-scopes", env("SESSIOND_CONSOLE_OIDC_SCOPES", strings.Join(adminoidc.DefaultLoginScopes, ",")), "OAuth scopes the console asks for, comma-separated; openid is always asked (SESSIOND_CONSOLE_OIDC_SCOPES)")
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
		return o.validateConsole()
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
	return o.validateConsole()
}

// validateConsole checks the --console-oidc-* settings and
// --console-key-signin.
func (o AdminOIDC) validateConsole() error {
	if o.ConsoleClientID == "" {
		switch {
		case o.ConsoleClientSecret != "" || o.ConsoleRedirectURL != "":
			return configError("--console-oidc-client-id (SESSIOND_CONSOLE_OIDC_CLIENT_ID)", "required by the other --console-oidc-* settings")
		case !o.ConsoleKeySignIn:
			return configError("--console-key-signin (SESSIOND_CONSOLE_KEY_SIGNIN)", "false needs --console-oidc-client-id: otherwise nobody could sign in to the console")
		}
		return nil
	}
	if len(o.Issuers) == 0 {
		return configError("--admin-oidc-issuer (SESSIOND_ADMIN_OIDC_ISSUER)", "required by --console-oidc-client-id: the console signs people in at the first issuer")
	}
	if u := o.ConsoleRedirectURL; u != "" {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.Path != "/console/signin/oidc/callback" || p.RawQuery != "" {
			return configError("--console-oidc-redirect-url (SESSIOND_CONSOLE_OIDC_REDIRECT_URL)", "%q is not an http(s) URL ending in /console/signin/oidc/callback", u)
		}
	}
	return nil
}

// consoleLogin returns the console's sign-in through the first issuer,
// or nil when no console client is configured.
func (c *Config) consoleLogin(people *adminoidc.Verifier) (*adminoidc.Login, error) {
	o := c.AdminOIDC
	if o.ConsoleClientID == "" || people == nil {
		return nil, nil
	}
	l, err := adminoidc.NewLogin(people, adminoidc.LoginConfig{Issuer: o.Issuers[0], ClientID: o.ConsoleClientID,
		ClientSecret: o.ConsoleClientSecret, Scopes: strings.FieldsFunc(o.ConsoleScopes, func(r rune) bool { return r == ',' || r == ' ' })})
	if err != nil {
		return nil, configError("--console-oidc-client-id (SESSIOND_CONSOLE_OIDC_CLIENT_ID)", "%v", err)
	}
	return l, nil
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
		KeysMaxAge: o.KeysMaxAge, OmitProfile: !o.RecordProfile, Logger: log,
	})
	if err != nil {
		return nil, configError("--admin-oidc-issuer (SESSIOND_ADMIN_OIDC_ISSUER)", "%v", err)
	}
	return v, nil
}
