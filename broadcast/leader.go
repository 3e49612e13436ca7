package broadcast

import (
	"context"
	"os"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// relayLockKey is the session-level advisory lock the relay leader holds.
const relayLockKey int64 = 0x5e55_10d0_0000_0003

// Elect tries once to become the relay leader. If it wins, it runs fn
// with a context that ends when ctx does or when leadership is lost, then
// gives leadership up and returns true.
type Elect func(ctx context.Context, fn func(context.Context)) (bool, error)

// PostgresElect elects through a session-level advisory lock. The lock
// lives on a connection taken out of the pool, so the pool can never hand
// it to anyone else; if this process dies, the connection closes and
// PostgreSQL frees the lock at once.
func PostgresElect(pool *pgxpool.Pool) Elect { return PostgresElectKey(pool, relayLockKey) }

// AuditMirrorLockKey is the advisory lock the audit mirror's leader holds.
const AuditMirrorLockKey int64 = 0x5e55_10d0_0000_0004

// PostgresElectKey is PostgresElect on another advisory lock, for another
// single-leader job.
func PostgresElectKey(pool *pgxpool.Pool, key int64) Elect {
	return func(ctx context.Context, fn func(context.Context)) (bool, error) { return lead(ctx, pool, key, fn) }
}

func lead(ctx context.Context, pool *pgxpool.Pool, key int64, fn func(context.Context)) (bool, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	var won bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&won); err != nil || !won {
		c.Release()
		return false, err
	}
	hold(ctx, c.Hijack(), watchEvery, fn)
	return true, nil
}

// lockConn is the connection that holds the lock (*pgx.Conn).
type lockConn interface {
	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}

// watchEvery is how often the leader pings its lock connection.
var watchEvery = time.Second

// hold runs fn as the leader while conn holds the lock, pinging conn every
// interval and ending fn's context if a ping fails; then it closes conn,
// which frees the lock. The close waits for the watcher to finish: a pgx
// connection is not safe for concurrent use, and closing it under a ping
// in flight panics inside pgx.
func hold(ctx context.Context, conn lockConn, every time.Duration, fn func(context.Context)) {
	leaderCtx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch(leaderCtx, conn, every, cancel)
	}()
	fn(leaderCtx)
	cancel()
	<-watched
	conn.Close(context.Background()) // frees the lock
}

// watch pings the lock's connection and ends leadership when it breaks.
func watch(ctx context.Context, conn lockConn, every time.Duration, lost func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				lost()
				return
			}
		}
	}
}

// FileElect elects through an exclusive flock of path, for the embedded
// store: every sessiond on one SQLite file runs on one machine. The kernel
// frees the lock when the process dies.
func FileElect(path string) Elect {
	return func(ctx context.Context, fn func(context.Context)) (bool, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return false, err
		}
		defer f.Close() // frees the lock
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			if err == syscall.EWOULDBLOCK {
				return false, nil
			}
			return false, err
		}
		fn(ctx)
		return true, nil
	}
}
