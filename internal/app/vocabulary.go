package app

import (
	"context"
	"errors"

	"github.com/sessiond/sessiond/eventstore"
)

// The adapters that drive the use cases (api, console, the CLI) speak
// this package's vocabulary, never the log's or the read model's: the
// names below are what they may use. The log's records and filters are
// aliases, so they pass through unchanged and uncopied; the use cases own
// the names, the log core their shape.

// Event is an event as recorded in the log.
type Event = eventstore.Recorded

// AuditFilter selects events of the audit trail.
type AuditFilter = eventstore.Filter

// MaxAuditPage is the most events one page of the audit trail may ask for.
const MaxAuditPage = eventstore.MaxAuditPage

// Break is one problem a verification of the log found.
type Break = eventstore.Break

// LogReader is the read side of the log that a verification walks.
type LogReader = eventstore.LogReader

// ListFilter selects a page of a user's sessions for List.
type ListFilter struct {
	UserID string
	Status string // "active", "revoked", "expired" or "all"
	After  string // cursor: the last sessionId of the previous page
	Limit  int
}

// Unavailable reports whether err means the store could not be reached
// (or did not answer in time).
func Unavailable(err error) bool {
	return errors.Is(err, eventstore.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}
