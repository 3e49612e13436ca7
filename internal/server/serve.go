package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/auditkey"
	"github.com/sessiond/sessiond/ssf"
)

// HTTP server timeouts.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 25 * time.Second
)

// serving is everything a running server holds.
type serving struct {
	db      *backend
	stopCP  func() // stops the checkpointer, the witnesses and the key table
	stopSSF func() // stops the SSF transmitter
	ssf     ssfAPI
	ns      *embeddedNATS // nil unless NATS is embedded
	nc      *nats.Conn
	bc      *broadcast.Service
	http    *http.Server
	ln      net.Listener
	nats    string // the NATS URL broadcasts go to
	done    chan error
}

func (m *Main) runServe(ctx context.Context, args []string) error {
	if err := m.Start(ctx, args); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-m.serve.done:
		if err != nil {
			m.Close()
			return err
		}
	}
	return m.Close()
}

// Start parses args, opens the store, applies migrations (unless
// --no-migrate), and starts serving HTTP. It returns once the listener is
// open; Addr tells where.
func (m *Main) Start(ctx context.Context, args []string) error {
	if _, err := m.flags("serve", "sessiond [serve] [flags]", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&m.Config.NoMigrate, "no-migrate", false, "do not apply pending migrations at start-up")
	}); err != nil {
		return err
	}
	log := m.Logger
	if m.Config.issuerGuessed {
		log.Warn("--issuer (SESSIOND_ISSUER) is not set and --http-addr names no port: session tokens and jwks_uri say http://localhost:8080; set --issuer to the URL verifiers reach", "httpAddr", m.Config.HTTPAddr)
	}
	issuer, err := m.tokenIssuer()
	if err != nil {
		return err
	}
	auditSigner, err := auditkey.EnsureFile(m.Config.auditKeyPath())
	if err != nil {
		return configError("--audit-key-file (SESSIOND_AUDIT_KEY_FILE)", "%v", err)
	}
	db, err := m.openBackend(ctx, !m.Config.NoMigrate, eventstore.Options{
		Observe: observeAppend,
		Logger:  log.With("subsystem", "eventstore"),
	})
	if err != nil {
		return err
	}
	registerLag(db.store)
	keys, stopKT := startKeyTable(ctx, db.store, log)
	svc := app.New(db.store, db.reads, nil, log).WithKeys(keys).WithPolicy(app.CommandPolicy{RequireReason: m.Config.RequireReason})
	people, err := m.Config.adminPeople(log.With("subsystem", "adminoidc"))
	if err != nil {
		stopKT()
		db.Close()
		return err
	}
	if people != nil {
		svc.WithPeople(people)
	}
	login, err := m.Config.consoleLogin(people)
	if err != nil {
		stopKT()
		db.Close()
		return err
	}
	var (
		ns *embeddedNATS
		nc *nats.Conn
		bc *broadcast.Service
		bd api.Broadcaster
	)
	natsURL := m.Config.NATSURL
	if natsURL == "" {
		if ns, err = m.startEmbeddedNATS(log); err != nil {
			stopKT()
			db.Close()
			return err
		}
		natsURL = ns.URL()
	}
	if nc, bc, err = m.startBroadcast(natsURL, ns, db, log); err != nil {
		if ns != nil {
			ns.Close()
		}
		stopKT()
		db.Close()
		return err
	}
	bd = bc
	stopWitnesses, err := m.startWitnesses(db, nc, log)
	if err != nil {
		bc.Close()
		nc.Close()
		if ns != nil {
			ns.Close()
		}
		db.Close()
		return err
	}
	cpCtx, stopCheckpoints := context.WithCancel(context.Background())
	cpDone := make(chan struct{})
	go func() {
		defer close(cpDone)
		(&app.Checkpointer{Log: db.store, Signer: auditSigner, Issuer: m.Config.Issuer, Every: m.Config.CheckpointEvery,
			Interval: m.Config.CheckpointInterval, Logger: log.With("subsystem", "checkpoints")}).Run(cpCtx)
	}()
	denials, stopAcc := m.startAccountability(db, svc, nc, log)
	if m.mirror != nil {
		registerLag(db.store, bc.Relay().Runner(), m.mirror.Runner())
	}
	stopCP := func() { stopCheckpoints(); <-cpDone; stopWitnesses(); stopAcc(); stopKT() }
	audit := app.NewAudit(db.store)
	ssfSvc, stopSSF, err := m.startSSF(db, svc, log)
	if err != nil {
		stopCP()
		bc.Close()
		nc.Close()
		if ns != nil {
			ns.Close()
		}
		db.Close()
		return err
	}
	apiHandler := api.New(api.Options{
		Service:        svc,
		Broadcaster:    bd,
		Tokens:         issuer,
		Audit:          audit,
		AuditKeys:      func(ctx context.Context) ([]byte, error) { return audit.AuditKeysJWKS(ctx, auditSigner.Public()) },
		Timeout:        m.Config.RequestTimeout,
		SSF:            ssfSvc,
		SSFIssuer:      strings.TrimRight(m.Config.Issuer, "/"),
		KeyRate:        m.Config.KeyRate,
		KeyBurst:       int(2 * m.Config.KeyRate),
		AuthFailRate:   m.Config.AuthFailRate,
		AuthFailBurst:  20,
		TrustedProxies: m.Config.TrustedProxies,
		Denials:        denials,
		Ready:          allReady(db.ready, keys.Ready),
		Logger:         log.With("subsystem", "api"),
	})
	signIn := consoleSignIn{login: login, redirectURL: m.Config.AdminOIDC.ConsoleRedirectURL, keys: m.Config.AdminOIDC.ConsoleKeySignIn, denials: denials}
	handler, stopConsole := withConsole(apiHandler, svc, db.store, bd, m.consoleVerifyOptions(db, trustOnly(auditSigner.Public()), issuer.JWKS(), m.consoleWitnesses(natsURL)), m.consoleWitnesses(natsURL), m.Config.ConsoleIdle, signIn, log.With("subsystem", "console"))
	stopRest := stopCP
	stopCP = func() { stopConsole(); stopRest() }
	abort := func() {
		stopCP()
		stopSSF()
		bc.Close()
		nc.Close()
		if ns != nil {
			ns.Close()
		}
		db.Close()
	}
	ln, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		abort()
		return configError("--http-addr (SESSIOND_HTTP_ADDR)", "cannot listen on %s: %v", m.Config.HTTPAddr, err)
	}
	// The one-time admin key comes last, once both ports are bound: a
	// start that fails (a busy port) must not use it up unseen.
	if err := m.firstRunKey(ctx, svc, db.ready); err != nil {
		ln.Close()
		abort()
		return err
	}
	ln = api.Listener(ln) // net/http's own 400s answer the JSON error too
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	m.serve = &serving{stopCP: stopCP, stopSSF: stopSSF, ssf: ssfSvc, db: db, ns: ns, nc: nc, bc: bc, http: srv, ln: ln, nats: natsURL, done: done}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	log.Info("sessiond serving", "http", ln.Addr().String(), "database", db.where, "nats", redactURL(natsURL),
		"embeddedNATS", ns != nil, "issuer", m.Config.Issuer, "signingKey", issuer.SigningKeyID(), "auditKey", auditSigner.KeyID())
	return nil
}

// Broadcast returns the broadcast service while serving.
func (m *Main) Broadcast() *broadcast.Service {
	if m.serve == nil {
		return nil
	}
	return m.serve.bc
}

// SSF returns the SSF transmitter while serving.
func (m *Main) SSF() *ssf.Transmitter {
	if m.serve == nil {
		return nil
	}
	return m.serve.ssf.Transmitter
}

// NATSURL returns the URL of the NATS that revocations are broadcast on
// (the embedded server's when --nats-url is empty) while serving.
func (m *Main) NATSURL() string {
	if m.serve == nil {
		return ""
	}
	return m.serve.nats
}

// Addr returns the HTTP listener's address while serving.
func (m *Main) Addr() string {
	if m.serve == nil {
		return ""
	}
	return m.serve.ln.Addr().String()
}

// Close shuts down gracefully: it stops accepting requests, lets in-flight
// requests finish, flushes queued appends, and closes the database pool.
// A request that got 200 is durable before Close returns.
func (m *Main) Close() error {
	s := m.serve
	if s == nil {
		return nil
	}
	m.serve = nil
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(ctx)
	s.stopCP()
	s.stopSSF()
	s.bc.Close() // stops the relay, gives up leadership
	s.db.Close() // flushes queued appends
	s.nc.Close()
	if s.ns != nil {
		s.ns.Close()
	}
	if m.Logger != nil {
		m.Logger.Info("sessiond stopped")
	}
	return err
}

// openPool connects to PostgreSQL with bounded connect times, so an
// unreachable database yields errors, not hangs. With reach it checks that
// the database answers, so every command that needs it now fails the same
// clear way; without (serve --no-migrate) the server starts not ready and
// waits for the database.
func openPool(ctx context.Context, url string, reach bool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, configError("--database-url (DATABASE_URL)", "%v", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 3*time.Second {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if !reach {
		return pool, nil
	}
	if err := reachDatabase(ctx, pool, url); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
