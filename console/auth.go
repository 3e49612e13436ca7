package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// Cookie names. The session cookie holds only a random token; the sign-in
// cookie carries the sign-in form's CSRF token before there is a session.
const (
	cookieName       = "sessiond_console"
	signInCookieName = "sessiond_console_signin"
)

type ctxKey int

const (
	keySession ctxKey = iota
	keyRequestID
)

// current returns the request's console session (nil before sign-in).
func current(r *http.Request) *session {
	s, _ := r.Context().Value(keySession).(*session)
	return s
}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

// withRequestID gives every console request an id, recorded on the
// events it appends and sent back as X-Request-Id.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.NewV7()
		if err != nil {
			panic(err)
		}
		w.Header().Set("X-Request-Id", id.String())
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyRequestID, id.String())))
	})
}

// isTLS reports whether the browser reached us over TLS (directly, or
// through a proxy that says so): then cookies are Secure.
func isTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isTLS(r)})
}

// sessionOf returns the live session of the request's cookie, or nil.
func (c *Console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return c.sessions.get(ck.Value)
}

// meta is the event metadata of a console request by s.
func (c *Console) meta(r *http.Request, s *session) app.Meta {
	m := app.Meta{}
	if s != nil {
		m.Actor = s.principal.Actor()
	}
	if r != nil {
		m.RequestID, m.SourceIP, m.UserAgent = requestID(r), sourceIP(r), truncate(r.UserAgent(), 512)
	}
	return m
}

// signedIn requires a live console session. It ends sessions that went
// idle, outlived MaxAge or whose admin key was revoked, re-reads a
// key's scopes, and marks the session used.
func (c *Console) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil {
			why := ""
			if ck, err := r.Cookie(cookieName); err == nil {
				why = c.sessions.endedWhy(ck.Value)
			}
			c.toSignIn(w, r, why)
			return
		}
		now := c.opts.Clock()
		if why := s.ended(now, c.opts.IdleTimeout, c.opts.MaxAge); why != "" {
			c.end(r, s, why)
			c.toSignIn(w, r, why)
			return
		}
		// A key's session follows the key table; a person's keeps what
		// the provider's tokens said at sign-in until it ends.
		if s.principal.Person == nil {
			p, err := c.svc.PrincipalByID(s.principal.KeyID)
			if domain.ErrorCode(err) == domain.CodeAdminSessionInvalid {
				c.end(r, s, domain.ConsoleEndKeyRevoked)
				c.toSignIn(w, r, domain.ConsoleEndKeyRevoked)
				return
			}
			if err != nil {
				c.fail(w, r, err)
				return
			}
			s.mu.Lock()
			s.principal = *p
			s.mu.Unlock()
		}
		s.touch(now)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keySession, s)))
	})
}

// toSignIn sends a browser to the sign-in page (GET) or answers 401
// (anything else), saying why when a session just ended.
func (c *Console) toSignIn(w http.ResponseWriter, r *http.Request, why string) {
	c.setCookie(w, r, cookieName, "", -1)
	if r.Method != http.MethodGet {
		c.fail(w, r, domain.Errorf(domain.CodeAdminSessionMissing, "your console session has ended; sign in again"))
		return
	}
	q := url.Values{"next": {r.URL.RequestURI()}}
	if why != "" {
		q.Set("ended", why)
	}
	http.Redirect(w, r, "/console/signin?"+q.Encode(), http.StatusSeeOther)
}

// csrf refuses a state-changing request unless its form carries the
// session's token (and, when the browser names an Origin, it is ours).
func (c *Console) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, domain.Errorf(domain.CodeValidation, "the form could not be read"))
			return
		}
		s := current(r)
		if !sameOrigin(r) || s == nil || !equalTokens(r.PostForm.Get("csrf"), s.csrf) {
			c.fail(w, r, errCSRF)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var errCSRF = domain.Errorf(domain.CodeForbidden, "the form's security token is missing or wrong (CSRF protection); reload the page and try again")

func equalTokens(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// sameOrigin accepts a request whose Origin header, if any, names this
// host, as the request or a reverse proxy's X-Forwarded-Host says (a
// cross-site form cannot set that header, and a cross-site fetch that
// sets it needs a CORS approval the console never gives).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	return u.Host == r.Host || u.Host == r.Header.Get("X-Forwarded-Host")
}

// end removes s and records its end (once, however many requests race).
func (c *Console) end(r *http.Request, s *session, why string) {
	if !c.sessions.remove(s, why) {
		return
	}
	ctx := context.Background()
	if r != nil {
		ctx = context.WithoutCancel(r.Context())
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	e := domain.NewConsoleSignedOut(s.id, s.principal.Actor(), why, c.opts.Clock())
	if err := c.svc.RecordConsoleSignOut(ctx, c.meta(r, s), e); err != nil && !errors.Is(err, app.ErrConsoleRecorded) {
		c.log.ErrorContext(ctx, "console sign-out not recorded", "err", err, "consoleSession", s.id, "why", why)
	}
}

// Run ends idle and expired console sessions as they go stale, recording
// each end, until ctx is done; it then stops running verifications and
// returns. Without it, a stale session ends at its next request.
func (c *Console) Run(ctx context.Context) {
	defer c.stopBG()
	every := min(c.opts.IdleTimeout/4, time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for s, why := range c.sessions.stale(c.opts.Clock(), c.opts.IdleTimeout, c.opts.MaxAge) {
				c.end(nil, s, why)
			}
		}
	}
}

func sourceIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
