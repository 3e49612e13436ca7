package verifier

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/verifier/wire"
)

// Option configures a Verifier.
type Option func(*config)

type config struct {
	stream       string
	subjects     string
	failClosed   bool
	maxStaleness time.Duration
	loadTimeout  time.Duration
	logger       *slog.Logger
	observe      func(Revocation)
	sessionID    func(*http.Request) (string, error)
	tick         time.Duration
	now          func() time.Time

	jwksURL    string
	issuer     string
	audience   string
	leeway     time.Duration
	httpClient *http.Client
}

func defaults() config {
	return config{
		stream:       wire.StreamName,
		subjects:     wire.SubjectAll,
		maxStaleness: 5 * time.Second,
		loadTimeout:  30 * time.Second,
		logger:       slog.Default(),
		tick:         100 * time.Millisecond,
		now:          time.Now,
		issuer:       "http://localhost:8080",
		audience:     "sessiond",
		leeway:       30 * time.Second,
	}
}

// WithJWKS turns on session tokens: Middleware then takes a bearer JWT,
// verifies it against the keys at url (fetched, cached, refetched when an
// unknown kid appears) and checks its sid. Typically
// https://<sessiond>/.well-known/jwks.json.
func WithJWKS(url string) Option { return func(c *config) { c.jwksURL = url } }

// WithIssuer sets the expected iss (default "http://localhost:8080",
// sessiond's default).
func WithIssuer(iss string) Option { return func(c *config) { c.issuer = iss } }

// WithAudience sets the expected aud (default "sessiond").
func WithAudience(aud string) Option { return func(c *config) { c.audience = aud } }

// WithLeeway sets the clock leeway for exp and nbf (default 30s). A
// revocation is kept until its session's expiresAt plus this leeway, as
// long as the session's tokens can still pass.
func WithLeeway(d time.Duration) Option { return func(c *config) { c.leeway = d } }

// WithHTTPClient sets the client that fetches the JWKS.
func WithHTTPClient(h *http.Client) Option { return func(c *config) { c.httpClient = h } }

// WithFailClosed makes Check return ErrStale once the feed was last known
// complete longer than maxStaleness ago (see Staleness). Without it the
// verifier fails open: it keeps answering from what it has, counts such
// checks and logs when it goes stale.
func WithFailClosed(maxStaleness time.Duration) Option {
	return func(c *config) { c.failClosed, c.maxStaleness = true, maxStaleness }
}

// WithMaxStaleness sets when the feed counts as stale (default 5s). With
// fail-open it only drives the metric and the log line.
func WithMaxStaleness(d time.Duration) Option {
	return func(c *config) { c.maxStaleness = d }
}

// WithStream names the JetStream stream (default "SESSIONS").
func WithStream(name string) Option { return func(c *config) { c.stream = name } }

// WithLoadTimeout bounds how long New waits for the initial revocation set
// (default 30s; New also stops when its context ends).
func WithLoadTimeout(d time.Duration) Option { return func(c *config) { c.loadTimeout = d } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithObserver calls fn for every revocation message applied, in stream
// order, from the consumer's goroutine. fn must not block.
func WithObserver(fn func(Revocation)) Option { return func(c *config) { c.observe = fn } }

// WithSessionID makes Middleware take the session id from fn instead of a
// verified token, for services whose own authentication already yields it
// (e.g. SessionIDHeader behind a trusted gateway). WithJWKS wins over it.
func WithSessionID(fn func(*http.Request) (string, error)) Option {
	return func(c *config) { c.sessionID = fn }
}

// SessionIDHeader extracts the session id from a request header.
func SessionIDHeader(name string) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		if id := r.Header.Get(name); id != "" {
			return id, nil
		}
		return "", ErrNoSession
	}
}

// WithClock sets the verifier's clock (default time.Now): the receive time
// of messages, staleness, the expiry of revocations and of tokens. Tests
// and fault injection use it to move time.
//
// The clock may be stepped. Set forward, the verifier only gets staler
// (heartbeats are trusted no later than their own at). Set back, it does
// not count the step as freshness: the freshness point moves back with it
// at the next tick. Revocations it dropped while the clock read later stay
// covered for tokens: a token whose exp plus leeway is at or before the
// latest one dropped is refused as expired (see VerifyToken). Check has no
// exp to go by: after a step back longer than the leeway, it may answer
// nil for a revoked session whose expiry, on the new clock, is still
// ahead.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }
