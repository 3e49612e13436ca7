package console

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/sessiond/sessiond/domain"
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
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	c.setCookie(w, r, signInCookieName, token, 3600)
	c.render(w, r, http.StatusOK, "signin", signInView{Token: token, Next: safeNext(r.URL.Query().Get("next")),
		Note: endedWords[r.URL.Query().Get("ended")]})
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
	p, err := c.svc.Authenticate(ctx, strings.TrimSpace(r.PostForm.Get("key")))
	if err != nil {
		if domain.ErrorCode(err) == domain.CodeAdminSessionInvalid {
			c.signins.failed(ip)
		}
		c.signInAgain(w, r, err)
		return
	}
	if err := c.startSession(ctx, w, r, *p, domain.ConsoleMethodAdminKey); err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// startSession starts a console session for a principal that a sign-in
// method (named by method) has proved, records ConsoleSignedIn, and sets
// the session cookie. Every sign-in method ends here: an OIDC code flow
// would map its ID token to a principal and call it the same way.
func (c *Console) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, p app.Principal, method string) error {
	now := c.opts.Clock()
	s, token, err := c.sessions.create(p, method, now)
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

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	c.end(r, current(r), domain.ConsoleEndSignedOut)
	c.setCookie(w, r, cookieName, "", -1)
	http.Redirect(w, r, "/console/signin?ended="+domain.ConsoleEndSignedOut, http.StatusSeeOther)
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
	token := randomToken()
	c.setCookie(w, r, signInCookieName, token, 3600)
	c.renderView(w, r, e.Status, "signin", view{Error: e, Page: signInView{Token: token, Next: safeNext(r.PostForm.Get("next"))}})
}
