package edge

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sessiond/sessiond/verifier"
)

// Headers edgeverify sets on forwarded requests (any incoming copies are
// removed first, so a client cannot forge them).
const (
	HeaderUserID    = "X-User-Id"
	HeaderSessionID = "X-Session-Id"
)

// Config is edgeverify's configuration.
type Config struct {
	Listen       string
	Upstream     string
	NATSURL      string
	JWKSURL      string
	Issuer       string
	Audience     string
	FailClosed   bool
	MaxStaleness time.Duration
}

// Main is the edgeverify program.
type Main struct {
	Stderr io.Writer
	Logger *slog.Logger
	Config Config

	nc   *nats.Conn
	v    *verifier.Verifier
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// NewMain returns a Main writing to stderr.
func NewMain() *Main { return &Main{Stderr: os.Stderr} }

func (m *Main) parse(args []string) error {
	fs := flag.NewFlagSet("edgeverify", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	c := &m.Config
	fs.StringVar(&c.Listen, "listen", ":8081", "address to serve on")
	fs.StringVar(&c.Upstream, "upstream", "", "URL of the edge service to protect (required)")
	fs.StringVar(&c.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS carrying sessiond's SESSIONS stream")
	fs.StringVar(&c.JWKSURL, "jwks-url", "http://localhost:8080/.well-known/jwks.json", "sessiond's JWKS")
	fs.StringVar(&c.Issuer, "issuer", "http://localhost:8080", "expected iss of session tokens")
	fs.StringVar(&c.Audience, "audience", "sessiond", "expected aud of session tokens")
	fs.BoolVar(&c.FailClosed, "fail-closed", false, "answer 503 REVOCATIONS_STALE while the revocation feed is older than --max-staleness")
	fs.DurationVar(&c.MaxStaleness, "max-staleness", 5*time.Second, "how old the revocation feed may be before it counts as stale")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(c.Upstream)
	if c.Upstream == "" || err != nil || u.Scheme == "" || u.Host == "" {
		return errors.New("--upstream: want the URL of the service to protect, e.g. http://127.0.0.1:9000")
	}
	if _, err := url.ParseRequestURI(c.JWKSURL); err != nil {
		return fmt.Errorf("--jwks-url: %v", err)
	}
	if c.MaxStaleness <= 0 {
		return errors.New("--max-staleness: must be positive")
	}
	return nil
}

// Start parses args, connects to NATS, loads the revocation set and starts
// serving. It returns once the listener is open.
func (m *Main) Start(ctx context.Context, args []string) error {
	if err := m.parse(args); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewJSONHandler(m.Stderr, nil))
	}
	nc, err := nats.Connect(m.Config.NATSURL, nats.Name("edgeverify"), nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		return fmt.Errorf("--nats-url: %w", err)
	}
	opts := []verifier.Option{
		verifier.WithJWKS(m.Config.JWKSURL), verifier.WithIssuer(m.Config.Issuer), verifier.WithAudience(m.Config.Audience),
		verifier.WithMaxStaleness(m.Config.MaxStaleness), verifier.WithLogger(m.Logger),
	}
	if m.Config.FailClosed {
		opts = append(opts, verifier.WithFailClosed(m.Config.MaxStaleness))
	}
	v, err := newVerifier(ctx, nc, opts)
	if err != nil {
		nc.Close()
		return err
	}
	upstream, _ := url.Parse(m.Config.Upstream)
	reg := prometheus.NewRegistry()
	reg.MustRegister(v, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","revocations":%d,"stalenessSeconds":%.3f}`, v.Len(), v.Staleness().Seconds())
	})
	mux.Handle("/", v.Middleware(proxy(upstream)))
	ln, err := net.Listen("tcp", m.Config.Listen)
	if err != nil {
		v.Close()
		nc.Close()
		return fmt.Errorf("--listen: %w", err)
	}
	m.nc, m.v, m.ln, m.done = nc, v, ln, make(chan error, 1)
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		err := m.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		m.done <- err
	}()
	m.Logger.Info("edgeverify serving", "listen", ln.Addr().String(), "upstream", m.Config.Upstream,
		"failClosed", m.Config.FailClosed, "revocations", v.Len())
	return nil
}

// newVerifier waits for sessiond's stream to exist (it may start later).
func newVerifier(ctx context.Context, nc *nats.Conn, opts []verifier.Option) (*verifier.Verifier, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		v, err := verifier.New(ctx, nc, opts...)
		if err == nil {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("--nats-url: the SESSIONS stream is not available: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// proxy forwards to upstream, replacing the identity headers with the
// verified ones.
func proxy(upstream *url.URL) http.Handler {
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(upstream)
		pr.SetXForwarded()
		pr.Out.Header.Del(HeaderUserID)
		pr.Out.Header.Del(HeaderSessionID)
		if c, ok := verifier.ClaimsFrom(pr.In.Context()); ok {
			pr.Out.Header.Set(HeaderUserID, c.Subject)
			pr.Out.Header.Set(HeaderSessionID, c.SessionID)
		}
	}}
}

// Addr returns the listener's address while serving.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Run starts and serves until ctx ends.
func (m *Main) Run(ctx context.Context, args []string) error {
	if err := m.Start(ctx, args); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-m.done:
		m.Close()
		return err
	}
	return m.Close()
}

// Close stops serving gracefully.
func (m *Main) Close() error {
	if m.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := m.srv.Shutdown(ctx)
	m.v.Close()
	m.nc.Close()
	m.srv = nil
	return err
}
