package console

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

// Service is what the console needs of the application service: the same
// commands and queries the API uses, plus the console's own records.
type Service interface {
	Authenticate(ctx context.Context, key string) (*app.Principal, error)
	PrincipalByID(keyID string) (*app.Principal, error)
	RecordConsoleSignIn(ctx context.Context, meta app.Meta, e domain.ConsoleSignedIn) error
	RecordConsoleSignOut(ctx context.Context, meta app.Meta, e domain.ConsoleSignedOut) error
	Revoke(ctx context.Context, meta app.Meta, userID, sessionID, reason string) (app.Revocation, error)
	RevokeAll(ctx context.Context, meta app.Meta, userID, reason string) ([]app.Session, []app.Event, error)
	Get(ctx context.Context, userID, sessionID string) (app.Session, []app.Event, error)
	List(ctx context.Context, f app.ListFilter) ([]app.Session, string, error)
	RecordRead(ctx context.Context, meta app.Meta, read domain.AuditRead) error
}

// Audit is what the console reads of the audit trail: the same queries
// the API answers from (an *app.Audit).
type Audit = app.AuditQueries

// Broadcaster publishes freshly recorded revocations at once and reports
// whether JetStream acknowledged them within its bound, as it does for
// the API.
type Broadcaster interface {
	PublishNow(ctx context.Context, events []app.Event) bool
}

// Options configure the console.
type Options struct {
	Service     Service
	Audit       Audit       // the audit queries the API answers from
	Broadcaster Broadcaster // optional: without it revocations are "pending"
	// BroadcastPosition is the position up to which the broadcast relay has
	// published the log (its checkpoint); optional.
	BroadcastPosition func(ctx context.Context) (int64, error)
	// Verify checks the whole log; see Verify and DefaultVerify.
	Verify Verify
	// Witnesses, when set, reads the checkpoints each witness outside the
	// database holds, for the integrity page.
	Witnesses func(ctx context.Context) ([]app.WitnessCopy, error)
	// IdleTimeout ends a console session after this long without a
	// request; default 15 minutes. MaxAge ends it regardless; default 12h.
	IdleTimeout time.Duration
	MaxAge      time.Duration
	Timeout     time.Duration // per-request deadline for store work; default 10s
	// IdP, when set, lets people sign in through the organization's
	// identity provider (authorization code flow with PKCE).
	IdP IdP
	// RedirectURL is the callback registered at the provider; empty:
	// <scheme>://<host>/console/signin/oidc/callback of each request.
	RedirectURL string
	// NoKeySignIn turns sign-in with an admin key off: only the identity
	// provider is offered.
	NoKeySignIn bool
	// Denials, if set, records refused sign-ins as the API records its
	// refused requests.
	Denials Denials
	Logger  *slog.Logger
	Clock   func() time.Time // default time.Now
}

// Denials counts refused sign-ins (app.DenialLog, shared with the API).
type Denials interface {
	Add(app.Denial)
}

// Console is the console's HTTP handler.
type Console struct {
	opts     Options
	svc      Service
	audit    Audit
	log      *slog.Logger
	sessions *sessionStore
	jobs     *verifyJobs
	signins  *failures
	pending  *pendingLogins // sign-ins under way at the identity provider
	handler  http.Handler
	// bg is the context of background work (verifications); Run cancels
	// it when it returns.
	bg     context.Context
	stopBG context.CancelFunc
}

// New builds the console.
func New(opts Options) *Console {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 15 * time.Minute
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 12 * time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	c := &Console{opts: opts, svc: opts.Service, audit: opts.Audit, log: opts.Logger,
		sessions: newSessionStore(), jobs: newVerifyJobs(), signins: newFailures(), pending: newPendingLogins()}
	c.bg, c.stopBG = context.WithCancel(context.Background())
	c.handler = secureHeaders(withRequestID(c.routes()))
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /console/static/", http.StripPrefix("/console/", staticFiles()))
	mux.HandleFunc("GET /console/{$}", c.home)
	mux.HandleFunc("GET /console/signin", c.signInPage)
	mux.HandleFunc("POST /console/signin", c.signIn)
	mux.HandleFunc("GET "+oidcStartPath, c.oidcStart)
	mux.HandleFunc("GET "+oidcCallbackPath, c.oidcCallback)
	mux.HandleFunc("GET "+signedOutPath, c.signedOut)
	mux.Handle("POST /console/signout", c.signedIn(c.csrf(http.HandlerFunc(c.signOut))))

	mux.Handle("GET /console/users", c.page(domain.ScopeSessionsRead, c.users))
	mux.Handle("GET /console/users/{user}/sessions/{session}", c.page(domain.ScopeSessionsRead, c.story))
	mux.Handle("POST /console/users/{user}/sessions/{session}/revoke", c.action(domain.ScopeSessionsRevoke, c.revoke))
	mux.Handle("POST /console/users/{user}/revoke-all", c.action(domain.ScopeSessionsRevoke, c.revokeAll))

	mux.Handle("GET /console/audit", c.page(domain.ScopeAuditRead, c.auditLog))
	mux.Handle("GET /console/audit/export", c.signedIn(c.scoped(domain.ScopeAuditRead, c.export)))
	mux.Handle("GET /console/audit/as-of", c.page(domain.ScopeAuditRead, c.asOf))

	mux.Handle("GET /console/integrity", c.page(domain.ScopeAuditRead, c.integrity))
	mux.Handle("POST /console/integrity/verify", c.action(domain.ScopeAuditRead, c.startVerify))
	mux.Handle("GET /console/integrity/verify/{job}", c.page(domain.ScopeAuditRead, c.verifyPage))
	mux.Handle("GET /console/integrity/verify/{job}/status", c.signedIn(c.scoped(domain.ScopeAuditRead, c.verifyStatus)))

	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, domain.Errorf(domain.CodeRouteNotFound, "there is no console page %s %s", r.Method, r.URL.EscapedPath()))
	})
	return mux
}

// page wraps a GET page: a console session with scope, and the request
// deadline.
func (c *Console) page(scope domain.Scope, h http.HandlerFunc) http.Handler {
	return c.signedIn(c.withTimeout(c.scoped(scope, h)))
}

// action wraps a state-changing POST: a console session, the CSRF token,
// then scope.
func (c *Console) action(scope domain.Scope, h http.HandlerFunc) http.Handler {
	return c.signedIn(c.csrf(c.withTimeout(c.scoped(scope, h))))
}

func (c *Console) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), c.opts.Timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// scoped lets a request through only if the session's key (or person)
// holds scope.
func (c *Console) scoped(scope domain.Scope, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !current(r).can(scope) {
			who := "this admin key"
			if s := current(r); s != nil && s.Person() {
				who = "your identity provider account"
			}
			c.fail(w, r, domain.Errorf(domain.CodeForbidden, "%s lacks the %s scope", who, scope))
			return
		}
		h(w, r)
	})
}

func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	switch {
	case s == nil:
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
	case s.can(domain.ScopeSessionsRead):
		http.Redirect(w, r, "/console/users", http.StatusSeeOther)
	case s.can(domain.ScopeAuditRead):
		http.Redirect(w, r, "/console/audit", http.StatusSeeOther)
	default:
		c.render(w, r, http.StatusOK, "home", nil)
	}
}

// secureHeaders sets the console's Content-Security-Policy and friends on
// every response: scripts and styles only from the console itself, no
// inline anything, never framed.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin") // no-referrer would make form posts say Origin: null
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !isStatic(r) {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// CSP is the console's Content-Security-Policy.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
