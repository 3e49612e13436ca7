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
	"net/url"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/sessiond/sessiond/verifier"
)

// Modes of edgeverify.
const (
	ModeProxy    = "proxy"    // a reverse proxy in front of --upstream
	ModeDecision = "decision" // every path answers allow or deny, for an ingress's auth subrequest
)

// Config is edgeverify's configuration.
type Config struct {
	Mode         string
	Listen       string
	AdminListen  string
	GRPCListen   string
	Upstream     string
	TokenCookie  string
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

	nc      *nats.Conn
	v       *verifier.Verifier
	servers []*http.Server
	grpc    *grpc.Server
	addrs   map[string]string // listener addresses by flag name
	done    chan error
}

// NewMain returns a Main writing to stderr.
func NewMain() *Main { return &Main{Stderr: os.Stderr} }

func (m *Main) parse(args []string) error {
	fs := flag.NewFlagSet("edgeverify", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	c := &m.Config
	fs.StringVar(&c.Mode, "mode", ModeProxy, "proxy: forward allowed requests to --upstream; decision: answer every path with 200/401/503 for an ingress's auth subrequest")
	fs.StringVar(&c.Listen, "listen", ":8081", "address to serve on")
	fs.StringVar(&c.AdminListen, "admin-listen", "", "address for /metrics and /healthz (default: on --listen in proxy mode, not served in decision mode)")
	fs.StringVar(&c.GRPCListen, "grpc-listen", "", "address for Envoy's ext_authz gRPC service (envoy.service.auth.v3.Authorization); empty: off")
	fs.StringVar(&c.Upstream, "upstream", "", "URL of the edge service to protect (proxy mode; required there)")
	fs.StringVar(&c.TokenCookie, "token-cookie", "", "also read the session token from this cookie when there is no Authorization: Bearer header")
	fs.StringVar(&c.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS carrying sessiond's SESSIONS stream")
	fs.StringVar(&c.JWKSURL, "jwks-url", "http://localhost:8080/.well-known/jwks.json", "sessiond's JWKS")
	fs.StringVar(&c.Issuer, "issuer", "http://localhost:8080", "expected iss of session tokens")
	fs.StringVar(&c.Audience, "audience", "sessiond", "expected aud of session tokens")
	fs.BoolVar(&c.FailClosed, "fail-closed", false, "answer 503 REVOCATIONS_STALE while the revocation feed is older than --max-staleness")
	fs.DurationVar(&c.MaxStaleness, "max-staleness", 5*time.Second, "how old the revocation feed may be before it counts as stale")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch c.Mode {
	case ModeProxy:
		u, err := url.Parse(c.Upstream)
		if c.Upstream == "" || err != nil || u.Scheme == "" || u.Host == "" {
			return errors.New("--upstream: want the URL of the service to protect, e.g. http://127.0.0.1:9000")
		}
	case ModeDecision:
		if c.Upstream != "" {
			return errors.New("--upstream: not used in decision mode (the ingress routes to the upstream)")
		}
	default:
		return fmt.Errorf("--mode: want %s or %s, not %q", ModeProxy, ModeDecision, c.Mode)
	}
	if _, err := url.ParseRequestURI(c.JWKSURL); err != nil {
		return fmt.Errorf("--jwks-url: %v", err)
	}
	if c.MaxStaleness <= 0 {
		return errors.New("--max-staleness: must be positive")
	}
	if c.TokenCookie != "" && !validCookieName(c.TokenCookie) {
		return fmt.Errorf("--token-cookie: %q is not a valid cookie name", c.TokenCookie)
	}
	return nil
}

func validCookieName(name string) bool {
	_, err := http.ParseCookie(name + "=x")
	return err == nil
}

// Start parses args, connects to NATS, loads the revocation set and starts
// serving. It returns once every listener is open.
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
	m.nc, m.v, m.addrs, m.done = nc, v, map[string]string{}, make(chan error, 3)
	if err := m.listen(); err != nil {
		m.Close()
		return err
	}
	m.Logger.Info("edgeverify serving", "mode", m.Config.Mode, "listen", m.addrs["listen"], "grpcListen", m.addrs["grpc-listen"],
		"upstream", m.Config.Upstream, "failClosed", m.Config.FailClosed, "revocations", v.Len())
	return nil
}

// listen opens the configured listeners and serves on them.
func (m *Main) listen() error {
	c, v := m.Config, m.v
	d := NewDecider(v, c.TokenCookie)
	d.metrics = newDecisionMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(v, d.metrics.vec, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	admin := http.NewServeMux()
	admin.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	admin.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","revocations":%d,"stalenessSeconds":%.3f}`, v.Len(), v.Staleness().Seconds())
	})

	var main http.Handler
	if c.Mode == ModeDecision {
		main = d.DecisionHandler()
	} else {
		upstream, _ := url.Parse(c.Upstream)
		mux := http.NewServeMux()
		if c.AdminListen == "" {
			mux.Handle("GET /metrics", admin)
			mux.Handle("GET /healthz", admin)
		}
		mux.Handle("/", d.ProxyHandler(upstream))
		main = mux
	}
	// A decision never reads a body, so it may bound the whole request;
	// a proxy streams uploads of any length.
	readTimeout := time.Duration(0)
	if c.Mode == ModeDecision {
		readTimeout = 10 * time.Second
	}
	if err := m.serveHTTP("listen", c.Listen, main, readTimeout); err != nil {
		return err
	}
	if c.AdminListen != "" {
		if err := m.serveHTTP("admin-listen", c.AdminListen, admin, 0); err != nil {
			return err
		}
	}
	if c.GRPCListen != "" {
		ln, err := net.Listen("tcp", c.GRPCListen)
		if err != nil {
			return fmt.Errorf("--grpc-listen: %w", err)
		}
		m.addrs["grpc-listen"] = ln.Addr().String()
		m.grpc = NewGRPCServer(d)
		go func() { m.done <- m.grpc.Serve(ln) }()
	}
	return nil
}

func (m *Main) serveHTTP(flagName, addr string, h http.Handler, readTimeout time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--%s: %w", flagName, err)
	}
	m.addrs[flagName] = ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: readTimeout, IdleTimeout: 120 * time.Second}
	m.servers = append(m.servers, srv)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		m.done <- err
	}()
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

// Addr returns the main listener's address while serving.
func (m *Main) Addr() string { return m.addrs["listen"] }

// AdminAddr returns the --admin-listen address while serving ("" if off).
func (m *Main) AdminAddr() string { return m.addrs["admin-listen"] }

// GRPCAddr returns the --grpc-listen address while serving ("" if off).
func (m *Main) GRPCAddr() string { return m.addrs["grpc-listen"] }

// Run starts and serves until ctx ends or a listener fails.
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

// Close stops serving gracefully. It is safe to call more than once.
func (m *Main) Close() error {
	if m.v == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	for _, srv := range m.servers {
		err = errors.Join(err, srv.Shutdown(ctx))
	}
	if m.grpc != nil { // let Checks in flight finish, within the same bound
		stopped := make(chan struct{})
		go func() { m.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			m.grpc.Stop()
		}
	}
	m.v.Close()
	m.nc.Close()
	m.servers, m.grpc, m.v = nil, nil, nil
	return err
}
