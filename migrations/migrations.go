package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var migrationsFS embed.FS

// lockID is the session-level advisory lock that serializes migrators.
const lockID = 0x5e55_10d0_0000_0001

// Postgres returns the PostgreSQL migrations.
func Postgres() fs.FS { return dir("postgres") }

// SQLite returns the SQLite migrations of the embedded store.
func SQLite() fs.FS { return dir("sqlite") }

func dir(name string) fs.FS {
	sub, err := fs.Sub(migrationsFS, name)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Up applies every pending PostgreSQL migration to db and returns the
// versions it applied. It holds an advisory lock while it works, so two
// processes migrating at once apply each migration exactly once.
func Up(ctx context.Context, db *sql.DB, log *slog.Logger) ([]int64, error) {
	p, err := provider(db, log)
	if err != nil {
		return nil, err
	}
	return up(ctx, p)
}

func up(ctx context.Context, p *goose.Provider) ([]int64, error) {
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	applied := make([]int64, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

// Pending reports whether db lacks any migration this binary knows.
func Pending(ctx context.Context, db *sql.DB) (bool, error) {
	p, err := provider(db, nil)
	if err != nil {
		return false, err
	}
	return pending(ctx, p)
}

func pending(ctx context.Context, p *goose.Provider) (bool, error) {
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return false, fmt.Errorf("migration versions: %w", err)
	}
	return current < target, nil
}

func provider(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Postgres(), opts...)
	if err != nil {
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return p, nil
}
