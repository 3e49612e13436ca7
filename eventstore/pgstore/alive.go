package pgstore

import (
	"context"
	"crypto/tls"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
)

// acquireLive takes a connection for an append whose writes will go out
// at once. It first looks at each pooled connection without writing
// (peerClosed) and discards one the server has already closed or spoken
// on unasked: a batch written to such a connection would fail with an
// unknowable outcome, although nothing could reach the server. So after
// a database restart or a network break the append gets a fresh
// connection (or a connect error, ErrUnavailable: nothing was sent),
// never OUTCOME_UNKNOWN for a write that never left.
//
// A connection that breaks after this look still makes the outcome
// unknown: the look narrows that window, it cannot close it.
func acquireLive(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Conn, error) {
	for tries := 0; ; tries++ {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		pc := conn.Conn().PgConn()
		if tries > int(pool.Config().MaxConns) {
			return conn, nil
		}
		// pgconn may still have a read in progress on the socket (its
		// background reader, started by a slow write) or bytes buffered:
		// SyncConn settles both (with a ping, only then) so that the peek
		// below neither waits on that read nor misses what it took.
		if pc.SyncConn(ctx) == nil && !peerClosed(pc.Conn()) {
			return conn, nil
		}
		_ = pc.Close(ctx) // closed: the pool drops it on release
		conn.Release()
	}
}

// peerClosed reports whether the server end of c has closed, reset, or
// sent bytes nobody asked for (PostgreSQL sends a FATAL error before it
// closes a terminated session). It peeks without blocking and without
// consuming anything; where the socket cannot be peeked it says false.
func peerClosed(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		closed = peek(fd)
		return true // one look, never wait
	})
	return closed || err != nil
}
