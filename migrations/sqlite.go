package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"
)

// UpSQLite applies every pending SQLite migration to db and returns the
// versions it applied. SQLite has no advisory locks, so migrators
// serialize on an exclusive flock of lockPath (created if needed), which
// the kernel releases if the process dies.
func UpSQLite(ctx context.Context, db *sql.DB, lockPath string, log *slog.Logger) ([]int64, error) {
	p, err := sqliteProvider(db, lockPath, log)
	if err != nil {
		return nil, err
	}
	return up(ctx, p)
}

// PendingSQLite reports whether db lacks any SQLite migration this binary
// knows.
func PendingSQLite(ctx context.Context, db *sql.DB) (bool, error) {
	p, err := sqliteProvider(db, "", nil)
	if err != nil {
		return false, err
	}
	return pending(ctx, p)
}

func sqliteProvider(db *sql.DB, lockPath string, log *slog.Logger) (*goose.Provider, error) {
	var opts []goose.ProviderOption
	if lockPath != "" {
		opts = append(opts, goose.WithSessionLocker(&fileLocker{path: lockPath}))
	}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, SQLite(), opts...)
	if err != nil {
		return nil, fmt.Errorf("migration provider: %w", err)
	}
	return p, nil
}

// fileLocker is a goose SessionLocker on an flock.
type fileLocker struct {
	path string
	f    *os.File
}

// SessionLock waits for the exclusive lock until ctx ends.
func (l *fileLocker) SessionLock(ctx context.Context, _ *sql.Conn) error {
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if err != syscall.EWOULDBLOCK {
			f.Close()
			return fmt.Errorf("migration lock %s: %w", l.path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("migration lock %s: %w", l.path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SessionUnlock releases the lock.
func (l *fileLocker) SessionUnlock(context.Context, *sql.Conn) error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}
