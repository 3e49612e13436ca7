package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sessiond/sessiond/eventstore"
)

// SQLSTATE codes the store classifies. Never match message text.
const (
	sqlstateUniqueViolation = "23505"
	sqlstateAppendOnly      = "SD001" // raised by the events trigger
	sqlstateGuard           = "SD002" // raised by sessiond_expect
)

// isGuardFailure reports whether err is the fast path's guard finding that
// the log moved under it.
func isGuardFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlstateGuard
}

// classify maps a database error to the eventstore's errors: a unique
// violation is a conflict, and failing to reach the server is
// ErrUnavailable. Others are returned unchanged.
func classify(err error, batch []*eventstore.Request) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == sqlstateUniqueViolation:
			c := &eventstore.ConflictError{Actual: -1}
			if len(batch) == 1 && len(batch[0].Appends) > 0 {
				c.StreamID = batch[0].Appends[0].StreamID
				c.Expected = batch[0].Appends[0].ExpectedVersion
			}
			return fmt.Errorf("%w (%s)", c, pgErr.ConstraintName)
		case unavailableClass(pgErr.Code):
			return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
		}
		return err
	}
	if IsConnectionError(err) {
		return fmt.Errorf("%w: %w", eventstore.ErrUnavailable, err)
	}
	return err
}

// commitError classifies a failure of the pipeline that carries COMMIT.
// An error the server reported (a PgError) aborted the transaction, and
// an error raised before anything was sent (pgconn.SafeToRetry) left
// nothing to commit: both are definite. Anything else — the connection
// broke or the deadline passed after the pipeline went out — may have come
// after the server committed, so the outcome is unknown.
func commitError(err error, batch []*eventstore.Request) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) || pgconn.SafeToRetry(err) {
		return classify(err, batch)
	}
	return fmt.Errorf("%w: %w", eventstore.ErrOutcomeUnknown, err)
}

// Classify wraps err with eventstore.ErrUnavailable when it means the
// database could not be reached, so that callers can answer "try later"
// instead of "internal error". Other errors are returned unchanged.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	return classify(err, nil)
}

// unavailableClass reports SQLSTATEs that mean "the server cannot serve
// you now": connection exceptions, shutdowns, too many connections.
func unavailableClass(code string) bool {
	switch {
	case len(code) == 5 && code[:2] == "08": // connection_exception
		return true
	case code == "57P01", code == "57P02", code == "57P03": // admin/crash shutdown, cannot connect now
		return true
	case code == "53300": // too_many_connections
		return true
	}
	return false
}

// IsAppendOnlyViolation reports whether err is the events table's trigger
// refusing an UPDATE, DELETE or TRUNCATE.
func IsAppendOnlyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlstateAppendOnly
}

// IsConnectionError reports whether err means the database could not be
// reached or the connection broke, rather than that it refused a request.
func IsConnectionError(err error) bool {
	var (
		connErr *pgconn.ConnectError
		netErr  net.Error
	)
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return true
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case pgconn.Timeout(err):
		return true
	}
	return false
}
