package console

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// IdP is the organization's identity provider, for signing people in
// (internal/adminoidc.Login implements it).
type IdP interface {
	// AuthURL is the authorization request for a sign-in: state, nonce
	// and the S256 challenge of the PKCE verifier.
	AuthURL(ctx context.Context, redirectURL, state, nonce, verifier string) (string, error)
	// Exchange redeems the code with the verifier, checks the ID token
	// and its nonce, and returns the person's principal (scopes mapped as
	// for the admin API) and the raw ID token.
	Exchange(ctx context.Context, redirectURL, code, verifier, nonce string) (*app.Principal, string, error)
	// LogoutURL is the RP-initiated logout URL, or "" when the provider
	// advertises no end_session_endpoint.
	LogoutURL(ctx context.Context, idToken, postLogoutURL string) string
}

// Paths of the sign-in through the identity provider. The callback (and
// the post-logout landing page) are what the provider's client
// registration lists.
const (
	oidcStartPath    = "/console/signin/oidc"
	oidcCallbackPath = "/console/signin/oidc/callback"
	signedOutPath    = "/console/signed-out"
)

// preAuthCookieName binds a pending sign-in to the browser that started
// it. It is SameSite=Lax, unlike the console's other cookies, because it
// must come back on the provider's cross-site redirect to the callback.
const preAuthCookieName = "sessiond_console_oidc"

// pendingTTL bounds how long a person may take at the provider.
const pendingTTL = 10 * time.Minute

// maxPending bounds the sign-ins under way in one process.
const maxPending = 10000

// pendingLogin is a sign-in under way at the provider, kept server-side
// under its state until the callback takes it (once).
type pendingLogin struct {
	binding     string // the pre-auth cookie's value
	nonce       string
	verifier    string // PKCE code verifier
	next        string
	redirectURL string
	expires     time.Time
}

type pendingLogins struct {
	mu      sync.Mutex
	byState map[string]*pendingLogin
}

func newPendingLogins() *pendingLogins { return &pendingLogins{byState: map[string]*pendingLogin{}} }

// add keeps p under state; when full it first drops expired sign-ins.
func (ps *pendingLogins) add(state string, p *pendingLogin, now time.Time) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.byState) >= maxPending {
		for s, q := range ps.byState {
			if !now.Before(q.expires) {
				delete(ps.byState, s)
			}
		}
		if len(ps.byState) >= maxPending {
			return domain.Errorf(domain.CodeRateLimited, "too many sign-ins are under way; try again in a few minutes")
		}
	}
	ps.byState[state] = p
	return nil
}

// take removes and returns the live sign-in of state, or nil: a state
// is good for one callback.
func (ps *pendingLogins) take(state string, now time.Time) *pendingLogin {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	p := ps.byState[state]
	delete(ps.byState, state)
	if p == nil || !now.Before(p.expires) {
		return nil
	}
	return p
}

// origin is the console's scheme and host as the browser sees it.
func origin(r *http.Request) string {
	scheme, host := "http", r.Host
	if isTLS(r) {
		scheme = "https"
	}
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host = h
	}
	return scheme + "://" + host
}

// redirectURL is the callback the provider sends the browser back to:
// --console-oidc-redirect-url, else derived from the request.
func (c *Console) redirectURL(r *http.Request) string {
	if c.opts.RedirectURL != "" {
		return c.opts.RedirectURL
	}
	return origin(r) + oidcCallbackPath
}

// postLogoutURL is where the provider sends the browser after logout: the
// signed-out page beside the callback.
func (c *Console) postLogoutURL(r *http.Request) string {
	if c.opts.RedirectURL != "" {
		if u, err := url.Parse(c.opts.RedirectURL); err == nil {
			return u.Scheme + "://" + u.Host + signedOutPath
		}
	}
	return origin(r) + signedOutPath
}

func (c *Console) setPreAuthCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: preAuthCookieName, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isTLS(r)})
}

// idpOpen answers the error page and reports false when sign-in through
// the provider is not configured or this address failed too often.
func (c *Console) idpOpen(w http.ResponseWriter, r *http.Request) bool {
	if c.opts.IdP == nil {
		c.fail(w, r, domain.Errorf(domain.CodeRouteNotFound, "sign-in through an identity provider is not configured (--console-oidc-client-id)"))
		return false
	}
	if !c.signins.ok(sourceIP(r)) {
		c.fail(w, r, domain.Errorf(domain.CodeRateLimited, "too many failed sign-ins from this address; wait a minute"))
		return false
	}
	return true
}

// oidcStart begins a sign-in at the provider: a fresh state, nonce and
// PKCE verifier kept server-side, bound to this browser by the pre-auth
// cookie (one binding per browser, so sign-ins in two tabs both work).
func (c *Console) oidcStart(w http.ResponseWriter, r *http.Request) {
	if !c.idpOpen(w, r) {
		return
	}
	now := c.opts.Clock()
	state, binding := randomToken(), randomToken()
	if ck, err := r.Cookie(preAuthCookieName); err == nil && len(ck.Value) == len(binding) {
		// A sign-in already under way in another tab keeps its binding.
		binding = ck.Value
	}
	p := &pendingLogin{binding: binding, nonce: randomToken(), verifier: randomToken(),
		next: safeNext(r.URL.Query().Get("next")), redirectURL: c.redirectURL(r), expires: now.Add(pendingTTL)}
	ctx, cancel := context.WithTimeout(r.Context(), c.opts.Timeout)
	defer cancel()
	to, err := c.opts.IdP.AuthURL(ctx, p.redirectURL, state, p.nonce, p.verifier)
	if err == nil {
		err = c.pending.add(state, p, now)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.setPreAuthCookie(w, r, binding, int(pendingTTL/time.Second))
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// oidcCallback finishes a sign-in: the state must be one this browser
// started (its pre-auth cookie) and unused; then the code is redeemed
// with the PKCE verifier, the ID token and its nonce checked, and the
// access token mapped to scopes as the admin API maps it. Any refusal
// shows the sign-in page with the reason, starts nothing, and is
// recorded like a refused key sign-in.
func (c *Console) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if !c.idpOpen(w, r) {
		return
	}
	q := r.URL.Query()
	p := c.pending.take(q.Get("state"), c.opts.Clock())
	// The pre-auth cookie is left to expire: another tab's sign-in may
	// still need it, and without a pending state it proves nothing.
	ck, ckErr := r.Cookie(preAuthCookieName)
	switch {
	case p == nil:
		c.denySignIn(w, r, domain.Errorf(domain.CodeForbidden,
			"this sign-in is unknown, expired or already used (state mismatch); start again"))
		return
	case ckErr != nil || !equalTokens(ck.Value, p.binding):
		c.denySignIn(w, r, domain.Errorf(domain.CodeForbidden,
			"this sign-in was started in another browser (state not bound to this browser); start again"))
		return
	case q.Get("error") != "":
		c.denySignIn(w, r, domain.Errorf(domain.CodeForbidden, "the identity provider refused the sign-in (%s%s)",
			truncate(q.Get("error"), 64), describe(q.Get("error_description"))))
		return
	case q.Get("code") == "":
		c.denySignIn(w, r, domain.Errorf(domain.CodeValidation, "the identity provider sent no code"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.opts.Timeout)
	defer cancel()
	person, idToken, err := c.opts.IdP.Exchange(ctx, p.redirectURL, q.Get("code"), p.verifier, p.nonce)
	if err != nil {
		c.denySignIn(w, r, err)
		return
	}
	if len(person.Scopes) == 0 {
		c.denySignIn(w, r, domain.Errorf(domain.CodeForbidden,
			"%s holds no sessiond scope: the identity provider's token grants none (see --admin-oidc-scope-claim and --admin-oidc-scope-map)", person.Name))
		return
	}
	if err := c.startSession(ctx, w, r, *person, domain.ConsoleMethodOIDC, idToken); err != nil {
		c.fail(w, r, err)
		return
	}
	// A page, not a redirect: the session cookie is SameSite=Strict and
	// this request came from the provider's site, so the next page is
	// loaded from here, a same-site navigation that carries it.
	c.continueTo(w, r, p.next, false)
}

// continueTo answers with a page that moves the browser on to to at once
// (a meta refresh, with a link for the rare browser that ignores it).
func (c *Console) continueTo(w http.ResponseWriter, r *http.Request, to string, leaving bool) {
	title := "Signing in"
	if leaving {
		title = "Signing out"
	}
	c.renderView(w, r, http.StatusOK, "continue", view{Title: title, Refresh: to, Page: continueView{To: to, Leaving: leaving}})
}

func describe(s string) string {
	if s == "" {
		return ""
	}
	return ": " + truncate(s, 256)
}

// continueView is the page that moves the browser on after a sign-in or
// to the provider's logout.
type continueView struct {
	To      string
	Leaving bool // to the identity provider
}

// signedOut is where the provider returns the browser after logout.
func (c *Console) signedOut(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/console/signin?ended="+domain.ConsoleEndSignedOut, http.StatusSeeOther)
}
