package broadcast

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// relayLockKey is the session-level advisory lock the relay leader holds.
const relayLockKey int64 = 0x5e55_10d0_0000_0003

// lead tries once to become leader. If it wins, it runs fn with a context
// that ends when ctx does or when the lock's connection is lost, then gives
// the lock up. The lock lives on a connection taken out of the pool, so
// the pool can never hand it to anyone else; if this process dies, the
// connection closes and PostgreSQL frees the lock at once.
func lead(ctx context.Context, pool *pgxpool.Pool, fn func(context.Context)) (bool, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	var won bool
	if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, relayLockKey).Scan(&won); err != nil || !won {
		c.Release()
		return false, err
	}
	conn := c.Hijack()
	defer conn.Close(context.Background()) // frees the lock

	leaderCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go watch(leaderCtx, conn, cancel)
	fn(leaderCtx)
	return true, nil
}

// watch pings the lock's connection and ends leadership when it breaks.
func watch(ctx context.Context, conn *pgx.Conn, lost func()) {
	t := time.NewTicker(time.Second)
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
