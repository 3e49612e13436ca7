package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
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
	pool  *pgxpool.Pool
	store *pgstore.Store
	nc    *nats.Conn         // nil without NATS
	bc    *broadcast.Service // nil without NATS
	http  *http.Server
	ln    net.Listener
	done  chan error
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
	if err := m.Config.requirePostgres(); err != nil {
		return err
	}
	log := m.Logger
	issuer, err := m.tokenIssuer()
	if err != nil {
		return err
	}
	pool, err := openPool(ctx, m.Config.DatabaseURL)
	if err != nil {
		return err
	}
	if !m.Config.NoMigrate {
		if err := migrate(ctx, pool, log); err != nil {
			pool.Close()
			return err
		}
	}
	store := pgstore.New(pool, pgstore.Options{
		Projector: projections.Project,
		Observe:   observeAppend,
		Logger:    log.With("subsystem", "eventstore"),
	})
	registerLag(store)
	var (
		nc *nats.Conn
		bc *broadcast.Service
		bd api.Broadcaster
	)
	if m.Config.NATSURL != "" {
		if nc, bc, err = m.startBroadcast(store, log); err != nil {
			store.Close()
			pool.Close()
			return err
		}
		bd = bc
	} else {
		log.Warn("no --nats-url: revocations are recorded but not broadcast")
	}
	svc := app.New(store, projections.NewReadModel(pool), nil, log)
	handler := api.New(api.Options{
		Service:     svc,
		Broadcaster: bd,
		Tokens:      issuer,
		Ready:       readiness(pool),
		Logger:      log.With("subsystem", "api"),
	})
	ln, err := net.Listen("tcp", m.Config.HTTPAddr)
	if err != nil {
		if bc != nil {
			bc.Close()
			nc.Close()
		}
		store.Close()
		pool.Close()
		return configError("--http-addr (SESSIOND_HTTP_ADDR)", "cannot listen on %s: %v", m.Config.HTTPAddr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	m.serve = &serving{pool: pool, store: store, nc: nc, bc: bc, http: srv, ln: ln, done: done}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		done <- err
	}()
	log.Info("sessiond serving", "http", ln.Addr().String(), "database", redactURL(m.Config.DatabaseURL),
		"issuer", m.Config.Issuer, "signingKey", issuer.SigningKeyID())
	return nil
}

// Broadcast returns the broadcast service while serving with NATS.
func (m *Main) Broadcast() *broadcast.Service {
	if m.serve == nil {
		return nil
	}
	return m.serve.bc
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
	if s.bc != nil {
		s.bc.Close() // stops the relay, gives up leadership
	}
	s.store.Close()
	if s.nc != nil {
		s.nc.Close()
	}
	s.pool.Close()
	if m.Logger != nil {
		m.Logger.Info("sessiond stopped")
	}
	return err
}

// openPool connects to PostgreSQL with bounded connect times, so an
// unreachable database yields errors, not hangs.
func openPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
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
	return pool, nil
}

// migrate applies pending migrations under the migration lock.
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	applied, err := migrations.Up(ctx, db, nil)
	if err != nil {
		return fmt.Errorf("database %s: %w", "migrations", err)
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "versions", applied)
	}
	return nil
}

// readiness is ready when the database answers and has every migration.
func readiness(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := pool.Ping(ctx); err != nil {
			return errors.New("database unreachable")
		}
		db := stdlib.OpenDBFromPool(pool)
		defer db.Close()
		pending, err := migrations.Pending(ctx, db)
		if err != nil {
			return errors.New("database unreachable")
		}
		if pending {
			return errors.New("migrations pending")
		}
		return nil
	}
}
