package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/broadcast"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/migrations"
	"github.com/sessiond/sessiond/projections"
)

// Store is what sessiond needs of an event store; pgstore and sqlitestore
// both provide it.
type Store interface {
	broadcast.Log
	app.Log
	app.KeyFeed
	Verify(ctx context.Context, from, to int64) (eventstore.VerifyResult, error)
	Rebuild(ctx context.Context, tables []string) (int64, error)
	Ping(ctx context.Context) error
	Import(ctx context.Context, recs []eventstore.Recorded) error
	Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error
	app.PersonalStore
	Close() error
}

// backend is the configured storage: PostgreSQL, or the embedded SQLite
// file when --database-url is empty.
type backend struct {
	store    Store
	reads    app.Reads
	elect    broadcast.Elect
	ssfElect broadcast.Elect // elects the SSF transmitter's pushing instance
	mirror   broadcast.Elect // the audit mirror's election
	ready    func(context.Context) error
	where    string // for logs, without secrets
	closeDB  func()
}

// Close stops the store and closes the database.
func (b *backend) Close() {
	b.store.Close()
	b.closeDB()
}

// embedded reports whether the configuration selects the SQLite store.
func (c *Config) embedded() bool { return c.DatabaseURL == "" }

// sqlitePath is the embedded store's file.
func (c *Config) sqlitePath() string { return filepath.Join(c.DataDir, "sessiond.db") }

// openBackend opens the configured store, applying migrations first unless
// migrate is false. opts.Projector and opts.Queries are set here.
func (m *Main) openBackend(ctx context.Context, migrate bool, opts eventstore.Options) (*backend, error) {
	if m.Config.embedded() {
		return m.openSQLite(ctx, migrate, opts)
	}
	pool, err := openPool(ctx, m.Config.DatabaseURL, migrate)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := migratePostgresIfOwner(ctx, pool, m.Logger); err != nil {
			pool.Close()
			return nil, err
		}
	}
	opts.Projector, opts.Queries = projections.Project, projections.Queries
	store := pgstore.New(pool, opts)
	return &backend{
		store: store, reads: projections.NewReadModel(pool, pgstore.Classify), elect: broadcast.PostgresElect(pool),
		ssfElect: broadcast.PostgresElectKey(pool, ssfLockKey),
		mirror:   broadcast.PostgresElectKey(pool, broadcast.AuditMirrorLockKey),
		ready:    pgReadiness(pool), where: redactURL(m.Config.DatabaseURL), closeDB: pool.Close,
	}, nil
}

func (m *Main) openSQLite(ctx context.Context, migrate bool, opts eventstore.Options) (*backend, error) {
	path := m.Config.sqlitePath()
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return nil, configError("--data-dir (SESSIOND_DATA_DIR)", "%v", err)
	}
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		return nil, configError("--data-dir (SESSIOND_DATA_DIR)", "%v", err)
	}
	if migrate {
		applied, err := migrations.UpSQLite(ctx, db, path+".migrate-lock", nil)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("database %s: migrations: %w", path, err)
		}
		if len(applied) > 0 {
			m.Logger.Info("migrations applied", "versions", applied, "database", path)
		}
	}
	opts.Projector, opts.Queries = projections.ProjectSQLite, projections.QueriesSQLite
	store := sqlitestore.New(db, opts)
	return &backend{
		store: store, reads: projections.NewSQLiteReadModel(db, sqlitestore.Classify),
		elect:    broadcast.FileElect(filepath.Join(m.Config.DataDir, "relay.lock")),
		ssfElect: broadcast.FileElect(filepath.Join(m.Config.DataDir, "ssf.lock")),
		mirror:   broadcast.FileElect(filepath.Join(m.Config.DataDir, "audit-mirror.lock")),
		ready: func(ctx context.Context) error {
			if err := store.Ping(ctx); err != nil {
				return errors.New("database unreachable")
			}
			if pending, err := migrations.PendingSQLite(ctx, db); err != nil || pending {
				return errors.New("migrations pending")
			}
			return nil
		},
		where: path, closeDB: func() {},
	}, nil
}

// migratePostgres applies pending migrations under the migration lock.
func migratePostgres(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
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

// pgReadiness is ready when PostgreSQL answers and has every migration.
func pgReadiness(pool *pgxpool.Pool) func(context.Context) error {
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
