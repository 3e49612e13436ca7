package adminoidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// DefaultLoginScopes are the OAuth scopes the console asks for.
var DefaultLoginScopes = []string{oidc.ScopeOpenID, "profile", "email"}

// LoginConfig configures the console's sign-in through an issuer.
type LoginConfig struct {
	// Issuer is one of the Verifier's issuers.
	Issuer string
	// ClientID is the console's client at the issuer; ClientSecret is
	// empty for a public client (PKCE alone protects the code).
	ClientID, ClientSecret string
	// Scopes requested; default DefaultLoginScopes (openid is required).
	Scopes []string
}

// Login runs the OAuth 2.0 authorization code flow with PKCE (S256) for
// the console: the authorization URL, the code exchange, and the
// verification of what comes back. It shares the Verifier's discovery
// document and JWKS cache, and turns the access token into a principal
// with the Verifier itself, so the console maps claims to scopes exactly
// as the admin API does.
type Login struct {
	cfg LoginConfig
	v   *Verifier
	is  *issuer
}

// NewLogin returns the console sign-in through cfg.Issuer, which must be
// one of v's issuers.
func NewLogin(v *Verifier, cfg LoginConfig) (*Login, error) {
	is, ok := v.issuers[cfg.Issuer]
	if !ok {
		return nil, fmt.Errorf("%w: console issuer %q is not an admin issuer", ErrInvalidConfig, cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: a console client id is required", ErrInvalidConfig)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultLoginScopes
	}
	if !containsString(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	return &Login{cfg: cfg, v: v, is: is}, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// oauth returns the OAuth client of the flow, after discovery.
func (l *Login) oauth(ctx context.Context, redirectURL string) (*oauth2.Config, error) {
	if err := l.v.discovered(ctx, l.is); err != nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "the identity provider %s cannot be reached; retry later", l.is.url)
	}
	if l.is.meta.AuthURL == "" || l.is.meta.TokenURL == "" {
		return nil, domain.Errorf(domain.CodeUnavailable, "the identity provider %s names no authorization or token endpoint in its discovery document", l.is.url)
	}
	return &oauth2.Config{ClientID: l.cfg.ClientID, ClientSecret: l.cfg.ClientSecret, RedirectURL: redirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: l.is.meta.AuthURL, TokenURL: l.is.meta.TokenURL}, Scopes: l.cfg.Scopes}, nil
}

// AuthURL is where the browser goes to sign in: the issuer's
// authorization endpoint with state, nonce and the S256 challenge of
// verifier.
func (l *Login) AuthURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error) {
	conf, err := l.oauth(ctx, redirectURL)
	if err != nil {
		return "", err
	}
	return conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange redeems code (sending the PKCE verifier), verifies the ID
// token (signature, iss, aud = the client id, exp, nonce, azp, and
// at_hash when present), and
// verifies the access token as the admin API does (Verifier.Verify:
// audience, scopes from claims, required amr/acr). Both tokens must name
// the same subject. The principal's name and email come from the access
// token, else from the ID token (neither with OmitProfile). It returns the principal and the raw ID
// token (kept server-side as the logout hint).
func (l *Login) Exchange(ctx context.Context, redirectURL, code, verifier, nonce string) (*app.Principal, string, error) {
	conf, err := l.oauth(ctx, redirectURL)
	if err != nil {
		return nil, "", err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, l.v.cfg.HTTPClient)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, "", exchangeError(l.is.url, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, "", signInInvalid("the identity provider returned no ID token (is the openid scope allowed for this client?)")
	}
	var outage error
	idv := oidc.NewVerifier(l.is.url, l.is.keys, &oidc.Config{ClientID: l.cfg.ClientID,
		SupportedSigningAlgs: signingAlgNames(), Now: l.v.cfg.Clock})
	id, err := idv.Verify(context.WithValue(ctx, outageKey{}, &outage), rawID)
	if outage != nil {
		return nil, "", domain.Errorf(domain.CodeUnavailable, "the identity provider %s cannot be reached to fetch the ID token's signing key; retry later", l.is.url)
	}
	if err != nil {
		return nil, "", signInInvalid("the ID token is invalid: %s", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	if id.Nonce == "" || subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(nonce)) != 1 {
		return nil, "", signInInvalid("the ID token's nonce does not match this sign-in (a replayed or injected response)")
	}
	if tok.AccessToken == "" {
		return nil, "", signInInvalid("the identity provider returned no access token")
	}
	// The access token must be the one issued with this ID token (at_hash,
	// when the provider sets it), and an ID token for several audiences
	// must have been issued to the console (azp; OIDC Core 3.1.3.7).
	if id.AccessTokenHash != "" {
		if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, "", signInInvalid("the access token does not match the ID token's at_hash")
		}
	}
	var azp struct {
		AZP string `json:"azp"`
	}
	if err := id.Claims(&azp); err != nil || len(id.Audience) > 1 && azp.AZP != l.cfg.ClientID {
		return nil, "", signInInvalid("the ID token was not issued to this console (azp %q)", azp.AZP)
	}
	p, err := l.v.Verify(ctx, tok.AccessToken)
	if err != nil {
		return nil, "", err
	}
	if p.Person.Issuer != id.Issuer || p.Person.Subject != id.Subject {
		return nil, "", signInInvalid("the access token's subject is not the ID token's")
	}
	if !l.v.cfg.OmitProfile {
		var profile struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		}
		_ = id.Claims(&profile)
		if p.Person.Name == "" {
			p.Person.Name = clip(profile.Name)
		}
		if p.Person.Email == "" {
			p.Person.Email = clip(profile.Email)
		}
		p.Name = p.Person.Label()
	}
	return p, rawID, nil
}

// exchangeError says why the token endpoint refused the code: an OAuth
// error (invalid_grant: used already, expired, or the PKCE verifier does
// not match) is ADMIN_SESSION_INVALID; no answer is UNAVAILABLE.
func exchangeError(iss string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		if re.ErrorCode != "" {
			return signInInvalid("the identity provider refused the sign-in code (%s%s)", re.ErrorCode, describe(re.ErrorDescription))
		}
		if re.Response != nil && re.Response.StatusCode >= http.StatusInternalServerError {
			return domain.Errorf(domain.CodeUnavailable, "the identity provider %s answered %s; retry later", iss, re.Response.Status)
		}
		return signInInvalid("the identity provider refused the sign-in code (HTTP %d)", re.Response.StatusCode)
	}
	return domain.Errorf(domain.CodeUnavailable, "the identity provider %s cannot be reached; retry later", iss)
}

func describe(s string) string {
	if s == "" {
		return ""
	}
	return ": " + clip(s)
}

// LogoutURL is the issuer's end_session_endpoint with id_token_hint,
// post_logout_redirect_uri and client_id (OpenID Connect RP-Initiated
// Logout), or "" when the issuer advertises none (or cannot be reached
// now): then the sign-out is local only.
func (l *Login) LogoutURL(ctx context.Context, idToken, postLogoutURL string) string {
	if err := l.v.discovered(ctx, l.is); err != nil || l.is.meta.EndSessionURL == "" {
		return ""
	}
	u, err := url.Parse(l.is.meta.EndSessionURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("post_logout_redirect_uri", postLogoutURL)
	q.Set("client_id", l.cfg.ClientID)
	u.RawQuery = q.Encode()
	return u.String()
}

func signInInvalid(format string, args ...any) error {
	return domain.Errorf(domain.CodeAdminSessionInvalid, "sign-in refused: "+format, args...)
}
