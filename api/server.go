package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// Service is what the API needs of the application service.
type Service interface {
	Authenticate(ctx context.Context, key string) (*app.Principal, error)
	Start(ctx context.Context, meta app.Meta, cmd domain.StartSession) (app.Session, bool, error)
	Revoke(ctx context.Context, meta app.Meta, userID, sessionID, reason string) (app.Revocation, error)
	RevokeAll(ctx context.Context, meta app.Meta, userID, reason string) ([]app.Session, []app.Event, error)
	Get(ctx context.Context, userID, sessionID string) (app.Session, []app.Event, error)
	List(ctx context.Context, f app.ListFilter) ([]app.Session, string, error)
}

// Broadcaster publishes freshly recorded revocations at once and reports
// whether JetStream acknowledged them within its bound. A nil Broadcaster
// leaves every broadcast "pending" for the relay.
type Broadcaster interface {
	PublishNow(ctx context.Context, events []app.Event) bool
}

// Tokens mints session tokens and publishes their keys.
type Tokens interface {
	Mint(userID, sessionID string, expires, now time.Time) (string, error)
	JWKS() []byte
	Discovery() []byte
}

// Options configure a Server.
type Options struct {
	Service     Service
	Broadcaster Broadcaster                 // optional
	Tokens      Tokens                      // optional: without it no token is minted
	Audit       Audit                       // optional: without it the audit routes answer 503
	SSF         SSF                         // optional: without it the SSF routes answer 503
	SSFIssuer   string                      // the SSF transmitter's issuer, base of its URLs
	Ready       func(context.Context) error // readiness probe; nil means ready
	Logger      *slog.Logger
	DefaultTTL  time.Duration // session lifetime when a start names none; default 24h
	MaxTTL      time.Duration // longest session lifetime; default 365 days
	Timeout     time.Duration // per-request deadline of admin requests (key lookup and store work); default 10s
	// KeyRate and KeyBurst limit each admin key's requests (token bucket,
	// per second); 0 turns the limit off.
	KeyRate  float64
	KeyBurst int
	// AuthFailRate and AuthFailBurst limit failed authentications per
	// client address; 0 turns the limit off.
	AuthFailRate  float64
	AuthFailBurst int
	// AuditKeys returns the audit public keys as a JWKS (optional).
	AuditKeys func(context.Context) ([]byte, error)
	// TrustedProxies are the peers whose Forwarded / X-Forwarded-For
	// headers name the client (ClientIP); empty: none.
	TrustedProxies []netip.Prefix
	// Denials, if set, counts every 401, 403 and 429 of admin routes.
	Denials Denials
}

// Server is the admin HTTP API.
type Server struct {
	svc   Service
	audit Audit
	ssf   SSF

	perKey       *limiters
	authFailures *limiters
	bc           Broadcaster
	ready        func(context.Context) error
	log          *slog.Logger
	opts         Options
	handler      http.Handler
	router       *mux.Router
}

// New builds the API's handler.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DefaultTTL <= 0 {
		opts.DefaultTTL = 24 * time.Hour
	}
	if opts.MaxTTL <= 0 {
		opts.MaxTTL = 365 * 24 * time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	s := &Server{svc: opts.Service, audit: opts.Audit, ssf: opts.SSF, bc: opts.Broadcaster, ready: opts.Ready, log: opts.Logger, opts: opts}
	s.perKey = newLimiters(opts.KeyRate, opts.KeyBurst)
	s.authFailures = newLimiters(opts.AuthFailRate, opts.AuthFailBurst)
	s.router = s.routes()
	s.handler = withRequestID(s.recoverPanics(s.observe(s.router)))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Router exposes the router, so tests can walk the routes.
func (s *Server) Router() *mux.Router { return s.router }

func (s *Server) routes() *mux.Router {
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, domain.Errorf(domain.CodeRouteNotFound, "no route %s %s", r.Method, r.URL.EscapedPath()))
	})
	notAllowed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(s.allowed(r), ", "))
		s.writeError(w, r, domain.Errorf(domain.CodeMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.EscapedPath()))
	})
	// SkipClean: mux would answer an unclean path ("//", "/./") with a 301
	// to the cleaned one, which clients follow as a GET — a DELETE that
	// silently became a read. Such paths match no route: 404 instead.
	r := mux.NewRouter().UseEncodedPath().SkipClean(true)
	r.NotFoundHandler, r.MethodNotAllowedHandler = notFound, notAllowed
	r.Use(markRoute)

	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet)
	r.Handle("/metrics", promhttp.Handler()).Methods(http.MethodGet)
	r.HandleFunc("/openapi.json", serveOpenAPI).Methods(http.MethodGet)
	r.HandleFunc("/.well-known/jwks.json", s.jwks).Methods(http.MethodGet)
	r.HandleFunc("/.well-known/openid-configuration", s.discovery).Methods(http.MethodGet)
	r.HandleFunc("/.well-known/sessiond-audit-keys.json", s.auditKeys).Methods(http.MethodGet)

	// Admin routes sit on the main router (a mux subrouter answers some
	// wrong methods with 404 instead of 405); each handler is wrapped in
	// authentication, the request deadline and its scope check.
	one := AdminPrefix + "/users/{id}/sessions/{sessionId}"
	all := AdminPrefix + "/users/{id}/sessions"
	r.Handle(one, s.admin(domain.ScopeSessionsRevoke, s.revoke)).Methods(http.MethodDelete)
	r.Handle(one, s.admin(domain.ScopeSessionsRead, s.get)).Methods(http.MethodGet)
	r.Handle(all, s.admin(domain.ScopeSessionsWrite, s.start)).Methods(http.MethodPost)
	r.Handle(all, s.admin(domain.ScopeSessionsRead, s.list)).Methods(http.MethodGet)
	r.Handle(all, s.admin(domain.ScopeSessionsRevoke, s.revokeAll)).Methods(http.MethodDelete)
	// Exports stream for as long as they take: no request deadline (the
	// JSON page sets its own).
	r.Handle(AdminPrefix+"/audit/events", s.accountable(domain.ScopeAuditRead, s.authenticate(s.scoped(domain.ScopeAuditRead, s.needAudit(s.auditEvents))))).Methods(http.MethodGet)
	r.Handle(AdminPrefix+"/audit/chain", s.admin(domain.ScopeAuditRead, s.needAudit(s.auditChain))).Methods(http.MethodGet)
	s.ssfRoutes(r)
	return r
}

// allowed lists the methods the router serves on r's path, for the Allow
// header of a 405.
func (s *Server) allowed(r *http.Request) []string {
	var methods []string
	_ = s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		ms, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range ms {
			probe := *r
			probe.Method = m
			var match mux.RouteMatch
			if route.Match(&probe, &match) && !slices.Contains(methods, m) {
				methods = append(methods, m)
			}
		}
		return nil
	})
	slices.Sort(methods)
	return methods
}

// AdminPrefix starts every admin route.
const AdminPrefix = "/auth/admin/api"

// admin wraps an admin handler: the record of refusals, the request
// deadline, authentication (401), then the scope check (403). The
// deadline covers everything, the admin-key lookup included.
func (s *Server) admin(scope domain.Scope, h http.HandlerFunc) http.Handler {
	return s.accountable(scope, s.withTimeout(s.authenticate(s.scoped(scope, h))))
}

// withTimeout bounds an admin request (its key lookup and its store
// work), so a stalled database yields 503 rather than a hang.
func (s *Server) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.writeError(w, r, domain.Errorf(domain.CodeUnavailable, "not ready: %v", err))
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
