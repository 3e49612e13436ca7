package eventstore

import (
	"errors"
	"fmt"
)

// ErrConflict is matched (errors.Is) by every *ConflictError: a stream was
// not at the expected version.
var ErrConflict = errors.New("stream version conflict")

// ErrPartialDuplicate is returned when some, but not all, of an append's
// event ids are already in the log: the retry does not match the original.
var ErrPartialDuplicate = errors.New("append repeats only some recorded event ids")

// ErrInvalidAppend wraps every validation failure of an append's input.
var ErrInvalidAppend = errors.New("invalid append")

// ErrClosed is returned by Append after the store was closed.
var ErrClosed = errors.New("event store closed")

// ErrUnavailable wraps failures to reach the database at all: the append
// was not recorded and may be retried.
var ErrUnavailable = errors.New("event store unavailable")

// ErrOutcomeUnknown is returned when an append may or may not have been
// recorded: the connection failed or a deadline passed after COMMIT was
// sent, or the caller stopped waiting after a batch had taken its
// request. Reading the log tells; retrying with the same event ids is
// safe (a recorded id is a no-op).
var ErrOutcomeUnknown = errors.New("append outcome unknown")

// ConflictError tells which stream clashed. Actual is -1 when the store
// only knows that a concurrent writer won (a unique violation).
type ConflictError struct {
	StreamID string
	Expected int64
	Actual   int64
}

// Error implements error.
func (e *ConflictError) Error() string {
	if e.Actual < 0 {
		return fmt.Sprintf("stream %s: version %d already taken", e.StreamID, e.Expected+1)
	}
	return fmt.Sprintf("stream %s: expected version %d, found %d", e.StreamID, e.Expected, e.Actual)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// PreconditionError is returned when an append's Precondition does not
// hold at commit: Query returned Got, not Want. Batched instead means an
// earlier request of the same batch with a precondition of the same Key
// recorded first, so this one was not checked. It matches ErrConflict.
type PreconditionError struct {
	Key     string
	Query   string
	Want    []string
	Got     []string
	Batched bool
}

// Error implements error.
func (e *PreconditionError) Error() string {
	if e.Batched {
		return fmt.Sprintf("precondition %s on %s: another request of the batch changed it first", e.Query, e.Key)
	}
	return fmt.Sprintf("precondition %s on %s: want %d rows, found %d", e.Query, e.Key, len(e.Want), len(e.Got))
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *PreconditionError) Is(target error) bool { return target == ErrConflict }
