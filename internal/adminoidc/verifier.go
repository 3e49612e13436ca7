package adminoidc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// Verifier checks OIDC access tokens from the configured issuers and
// turns them into principals. It implements app.People and is safe for
// concurrent use. It contacts no issuer until a token from it arrives.
type Verifier struct {
	cfg     Config
	issuers map[string]*issuer
}

// issuer is one configured issuer; its go-oidc verifier is built from
// the discovery document on first use.
type issuer struct {
	url      string
	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier // nil until discovery succeeded
	keys     *keySet               // the issuer's JWKS, shared with Login
	meta     discovery
	failed   time.Time // last failed discovery
	lastErr  error
}

// discovery is what sessiond reads of an issuer's discovery document.
type discovery struct {
	JWKSURI       string `json:"jwks_uri"`
	AuthURL       string `json:"authorization_endpoint"`
	TokenURL      string `json:"token_endpoint"`
	EndSessionURL string `json:"end_session_endpoint"`
}

// New returns a Verifier for cfg. It fails only on bad configuration.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, issuers: map[string]*issuer{}}
	for _, iss := range cfg.Issuers {
		v.issuers[iss] = &issuer{url: iss}
	}
	return v, nil
}

var _ app.People = (*Verifier)(nil)

// Verify implements app.People: the signature (asymmetric algorithms
// only, keys from the issuer's JWKS), iss, aud, exp and nbf (with the
// configured leeway) and sub; then the required amr/acr; then the scopes.
func (v *Verifier) Verify(ctx context.Context, raw string) (*app.Principal, error) {
	iss, err := peekIssuer(raw)
	if err != nil {
		return nil, invalid("%v", err)
	}
	is, ok := v.issuers[iss]
	if !ok {
		return nil, invalid("the token's issuer %q is not configured (--admin-oidc-issuer)", iss)
	}
	if err := v.discovered(ctx, is); err != nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "the identity provider %s cannot be reached; retry later or use an admin key", iss)
	}
	var outage error
	tok, err := is.verifier.Verify(context.WithValue(ctx, outageKey{}, &outage), raw)
	if outage != nil {
		if errors.Is(outage, errKeysExpired) {
			return nil, domain.Errorf(domain.CodeUnavailable, "the identity provider %s cannot be reached and its cached keys have expired; retry later or use an admin key", iss)
		}
		return nil, domain.Errorf(domain.CodeUnavailable, "the identity provider %s cannot be reached to fetch the token's signing key; retry later", iss)
	}
	if err != nil {
		return nil, invalid("%s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return nil, invalid("unreadable claims: %v", err)
	}
	if err := c.timely(v.cfg.Clock(), v.cfg.Leeway); err != nil {
		return nil, invalid("%v", err)
	}
	if c.Subject == "" || len(c.Subject) > 255 {
		return nil, invalid("the token's sub must have 1 to 255 characters")
	}
	if err := c.strongEnough(v.cfg.RequireAMR, v.cfg.RequireACR); err != nil {
		return nil, err
	}
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return nil, invalid("unreadable claims: %v", err)
	}
	person := domain.Actor{Kind: domain.ActorOIDC, Issuer: iss, Subject: c.Subject,
		Name: clip(c.Name), Email: clip(c.Email), AMR: clip(strings.Join(c.AMR, " "))}
	if v.cfg.OmitProfile {
		person.Name, person.Email = "", ""
	}
	return &app.Principal{Name: person.Label(), Scopes: v.scopes(all), Person: &person}, nil
}

// discovered reads the issuer's discovery document on first use and
// builds its go-oidc verifier and key set; after it returns nil they stay
// set. After a failure it does not try again for retryAfter, so an outage
// does not make every request wait.
func (v *Verifier) discovered(ctx context.Context, is *issuer) error {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return nil
	}
	if is.lastErr != nil && v.cfg.Clock().Sub(is.failed) < retryAfter {
		return is.lastErr
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, v.cfg.HTTPClient), is.url)
	var meta discovery
	if err == nil {
		if err = p.Claims(&meta); err == nil && meta.JWKSURI == "" {
			err = errors.New("the discovery document has no jwks_uri")
		}
	}
	if err != nil {
		is.lastErr, is.failed = fmt.Errorf("discover %s: %w", is.url, err), v.cfg.Clock()
		v.cfg.Logger.WarnContext(ctx, "identity provider discovery failed; access tokens from it answer 503 until it succeeds", "issuer", is.url, "err", err)
		return is.lastErr
	}
	is.meta = meta
	is.keys = &keySet{uri: meta.JWKSURI, client: v.cfg.HTTPClient, refresh: v.cfg.KeysRefresh, maxAge: v.cfg.KeysMaxAge, now: v.cfg.Clock,
		log: v.cfg.Logger.With("issuer", is.url)}
	is.verifier = oidc.NewVerifier(is.url, is.keys, &oidc.Config{
		ClientID:             v.cfg.Audience,
		SupportedSigningAlgs: signingAlgNames(),
		SkipExpiryCheck:      true, // checked in claims.timely with our leeway
	})
	return nil
}

// peekIssuer reads iss from an unverified token to pick the issuer that
// verifies it; nothing else of the unverified payload is used.
func peekIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a signed JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("the token's payload is not base64url")
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer == "" {
		return "", errors.New("the token has no iss")
	}
	return c.Issuer, nil
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeAdminSessionInvalid, "the access token is invalid: "+format, args...)
}

// clip bounds a claim recorded on events to 256 bytes of valid UTF-8.
func clip(s string) string {
	if len(s) > 256 {
		s = strings.ToValidUTF8(s[:256], "")
	}
	return s
}
