package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// reachDatabase checks at start-up that PostgreSQL answers, so an
// unreachable or refusing database is one line naming the setting and the
// cause, not the driver's report of every address it tried.
func reachDatabase(ctx context.Context, pool *pgxpool.Pool, url string) error {
	if err := pool.Ping(ctx); err != nil {
		return configError("--database-url (DATABASE_URL)", "cannot use PostgreSQL at %s: %s", redactURL(url), dbCause(err))
	}
	return nil
}

// dbCause is the innermost useful reason a connection failed.
func dbCause(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "cannot resolve host " + dnsErr.Name
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return opErr.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer before the connect timeout"
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(line)
}
