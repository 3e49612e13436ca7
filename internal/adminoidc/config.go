package adminoidc

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// Defaults of a Config.
const (
	DefaultScopeClaim = "scope"
	// DefaultLeeway is the clock skew allowed on exp and nbf.
	DefaultLeeway = 30 * time.Second
	// DefaultKeysRefresh is how often an issuer's JWKS is refetched while
	// tokens arrive: a key the issuer withdraws stops verifying within it.
	DefaultKeysRefresh = 5 * time.Minute
	// DefaultKeysMaxAge is how long cached keys keep verifying while the
	// issuer cannot be reached.
	DefaultKeysMaxAge = 24 * time.Hour
)

// Config configures a Verifier.
type Config struct {
	// Issuers are the accepted issuer URLs, exactly as in the tokens' iss
	// (discovery is at <issuer>/.well-known/openid-configuration).
	Issuers []string
	// Audience must be among the token's aud values.
	Audience string
	// ScopeClaim names the claim whose values grant scopes: a top-level
	// claim, or a dotted path into nested objects (realm_access.roles).
	// Its value may be a space-separated string, an array of strings, or
	// an object whose keys are the values. Default "scope".
	ScopeClaim string
	// ScopeMap maps claim values to sessiond scopes. Empty: the claim's
	// values that are sessiond scope names grant exactly those scopes.
	ScopeMap map[string][]domain.Scope
	// RequireAMR lists authentication methods every token's amr claim must
	// include (e.g. mfa); RequireACR, if set, lists the acr values
	// accepted. A valid token that fails them is FORBIDDEN.
	RequireAMR, RequireACR []string
	// OmitProfile leaves the name and email claims out of the actor:
	// events then name a person by iss and sub alone. The log is
	// hash-chained, so what it records of a person cannot be erased later
	// (see "Admin sign-in" in the README).
	OmitProfile bool

	Leeway      time.Duration // default DefaultLeeway
	KeysRefresh time.Duration // default DefaultKeysRefresh
	KeysMaxAge  time.Duration // default DefaultKeysMaxAge

	HTTPClient *http.Client     // default: a client with a 10s timeout
	Clock      func() time.Time // default time.Now
	Logger     *slog.Logger     // default slog.Default()
}

// ErrInvalidConfig wraps every configuration error of New and
// ParseScopeMap.
var ErrInvalidConfig = errors.New("invalid admin OIDC configuration")

// ParseScopeMap parses "value=scope,value=scope,…": each entry grants the
// scope to tokens whose scope claim holds the value; repeat a value to
// grant it several scopes. The value is everything before the last "=",
// so values may contain "=" but not ",".
func ParseScopeMap(s string) (map[string][]domain.Scope, error) {
	out := map[string][]domain.Scope{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		i := strings.LastIndexByte(entry, '=')
		if i <= 0 {
			return nil, fmt.Errorf("%w: scope map entry %q: want value=scope", ErrInvalidConfig, entry)
		}
		value, scope := strings.TrimSpace(entry[:i]), domain.Scope(strings.TrimSpace(entry[i+1:]))
		if !slices.Contains(domain.AllScopes, scope) {
			return nil, fmt.Errorf("%w: scope map entry %q: unknown scope %q", ErrInvalidConfig, entry, scope)
		}
		if !slices.Contains(out[value], scope) {
			out[value] = append(out[value], scope)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (c *Config) defaults() error {
	if len(c.Issuers) == 0 {
		return fmt.Errorf("%w: no issuer", ErrInvalidConfig)
	}
	for _, iss := range c.Issuers {
		if !strings.HasPrefix(iss, "https://") && !strings.HasPrefix(iss, "http://") {
			return fmt.Errorf("%w: issuer %q is not an http(s) URL", ErrInvalidConfig, iss)
		}
	}
	if c.Audience == "" {
		return fmt.Errorf("%w: an audience is required with an issuer", ErrInvalidConfig)
	}
	if c.ScopeClaim == "" {
		c.ScopeClaim = DefaultScopeClaim
	}
	if c.Leeway <= 0 {
		c.Leeway = DefaultLeeway
	}
	if c.KeysRefresh <= 0 {
		c.KeysRefresh = DefaultKeysRefresh
	}
	if c.KeysMaxAge <= 0 {
		c.KeysMaxAge = DefaultKeysMaxAge
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
