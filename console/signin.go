package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// endedWords says in words why a session ended, for the sign-in page.
var endedWords = map[string]string{
	domain.ConsoleEndSignedOut:  "You signed out.",
	domain.ConsoleEndIdle:       "You were signed out because the console was idle for too long.",
	domain.ConsoleEndExpired:    "You were signed out because your console session reached its maximum age.",
	domain.ConsoleEndKeyRevoked: "You were signed out because your admin key was revoked.",
}

type signInView struct {
	Token string // the sign-in form's CSRF token
	Next  string
	Note  string
	// Keys offers the admin-key form; IdP the identity provider's sign-in
	// (its link carries Next).
	Keys bool
	IdP  string
}

// signInView returns the sign-in page's view for next.
func (c *Console) signInView(w http.ResponseWriter, r *http.Request, next string) signInView {
	v := signInView{Next: safeNext(next), Keys: !c.opts.NoKeySignIn}
	if v.Keys {
		v.Token = randomToken()
		c.setCookie(w, r, signInCookieName, v.Token, 3600)
	}
	if c.opts.IdP != nil {
		v.IdP = oidcStartPath + "?" + url.Values{"next": {v.Next}}.Encode()
	}
	return v
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	v := c.signInView(w, r, r.URL.Query().Get("next"))
	v.Note = endedWords[r.URL.Query().Get("ended")]
	c.render(w, r, http.StatusOK, "signin", v)
}

// safeNext keeps a post-sign-in destination inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

// signIn exchanges an admin key for a console session. The key is checked
// like an API request's and then forgotten: only the principal is kept.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if c.opts.NoKeySignIn {
		c.fail(w, r, domain.Errorf(domain.CodeForbidden, "sign-in with an admin key is turned off in this console (--console-key-signin=false); sign in through the identity provider"))
		return
	}
	ip := sourceIP(r)
	if !c.signins.ok(ip) {
		c.fail(w, r, domain.Errorf(domain.CodeRateLimited, "too many failed sign-ins from this address; wait a minute"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, domain.Errorf(domain.CodeValidation, "the form could not be read"))
		return
	}
	ck, err := r.Cookie(signInCookieName)
	if err != nil || !sameOrigin(r) || !equalTokens(r.PostForm.Get("csrf"), ck.Value) {
		c.fail(w, r, errCSRF)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.opts.Timeout)
	defer cancel()
	key := strings.TrimSpace(r.PostForm.Get("key"))
	if !strings.HasPrefix(key, app.KeyPrefix) {
		// Only keys here: a person's access token signs in through the
		// identity provider, whose flow checks who asked for it.
		c.denySignIn(w, r, domain.Errorf(domain.CodeAdminSessionInvalid, "that is not an admin key (they start with %s)", app.KeyPrefix))
		return
	}
	p, err := c.svc.Authenticate(ctx, key)
	if err != nil {
		c.denySignIn(w, r, err)
		return
	}
	if err := c.startSession(ctx, w, r, *p, domain.ConsoleMethodAdminKey, ""); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// startSession starts a console session for a principal that a sign-in
// method (named by method) has proved, records ConsoleSignedIn, and sets
// the session cookie. Every sign-in method ends here: an admin key, or a
// person through the identity provider (idToken, kept server-side as the
// logout hint).
func (c *Console) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, p app.Principal, method, idToken string) error {
	now := c.opts.Clock()
	s, token, err := c.sessions.create(p, method, idToken, now)
	if err != nil {
		return err
	}
	e := domain.NewConsoleSignedIn(s.id, p.Actor(), method, p.Scopes, now)
	if err := c.svc.RecordConsoleSignIn(ctx, c.meta(r, s), e); err != nil {
		// No record, no session: every console session is in the log.
		c.sessions.remove(s, "")
		return err
	}
	c.setCookie(w, r, signInCookieName, "", -1)
	c.setCookie(w, r, cookieName, token, 0)
	return nil
}

// signOut ends the console session. A person who signed in through the
// identity provider is then sent to its end_session_endpoint
// (RP-initiated logout) when it advertises one, which returns them to
// the signed-out page; otherwise the sign-out is local.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	s := current(r)
	c.end(r, s, domain.ConsoleEndSignedOut)
	c.setCookie(w, r, cookieName, "", -1)
	if s.method == domain.ConsoleMethodOIDC && c.opts.IdP != nil {
		ctx, cancel := context.WithTimeout(r.Context(), c.opts.Timeout)
		defer cancel()
		if to := c.opts.IdP.LogoutURL(ctx, s.idToken, c.postLogoutURL(r)); to != "" {
			// A page, not a redirect: the console's form-action 'self'
			// would stop a form's redirect to another origin.
			c.continueTo(w, r, to, true)
			return
		}
	}
	http.Redirect(w, r, "/console/signin?ended="+domain.ConsoleEndSignedOut, http.StatusSeeOther)
}

// denySignIn refuses a sign-in: the sign-in page again with the reason,
// the failure counted against the client address (10, then one per 6 s),
// and, for a 401, 403 or 429, the refusal recorded in the denial log as
// refused admin requests are (AccessDenied events).
func (c *Console) denySignIn(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	status := apiwire.StatusOf(code)
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		c.signins.failed(sourceIP(r))
		c.log.WarnContext(r.Context(), "console sign-in refused", "code", code, "reason", domain.ErrorMessage(err),
			"route", r.Method+" "+r.URL.Path, "requestId", requestID(r), "address", sourceIP(r))
		if c.opts.Denials != nil {
			c.opts.Denials.Add(app.Denial{At: c.opts.Clock(), Status: status, Code: code, Route: r.Method + " " + r.URL.Path,
				RequestID: requestID(r), Address: sourceIP(r), UserAgent: truncate(r.UserAgent(), 512)})
		}
	}
	c.signInAgain(w, r, err)
}

// failures limits failed sign-ins per client address: a burst of 10, then
// one every 6 seconds.
type failures struct {
	mu sync.Mutex
	by map[string]*rate.Limiter
}

func newFailures() *failures { return &failures{by: map[string]*rate.Limiter{}} }

func (f *failures) limiter(ip string) *rate.Limiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.by) > 10000 {
		clear(f.by) // bounded memory; a reset only forgives
	}
	l := f.by[ip]
	if l == nil {
		l = rate.NewLimiter(rate.Every(6*time.Second), 10)
		f.by[ip] = l
	}
	return l
}

func (f *failures) ok(ip string) bool { return f.limiter(ip).Tokens() >= 1 }
func (f *failures) failed(ip string)  { f.limiter(ip).Allow() }

// signInAgain shows the sign-in form again with what went wrong.
func (c *Console) signInAgain(w http.ResponseWriter, r *http.Request, err error) {
	e := c.errorOf(r, err)
	if r.URL.Path == oidcCallbackPath && e.Status < http.StatusInternalServerError {
		e.Words = "Your identity provider's sign-in was refused; no console session was started."
	}
	c.renderView(w, r, e.Status, "signin", view{Error: e, Page: c.signInView(w, r, r.PostForm.Get("next"))})
}
