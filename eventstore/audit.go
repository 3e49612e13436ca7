package eventstore

import "time"

// MaxAuditPage caps a page of audit events.
const MaxAuditPage = 1000

// Filter selects events for audit queries and exports. Empty fields do not
// filter. Results are in position order, after AfterPosition, so a cursor
// (the last position seen) never shifts under concurrent appends: new
// events only ever get higher positions.
type Filter struct {
	UserID        string    // data.userId
	SessionID     string    // data.sessionId
	Type          string    // event type
	Actor         string    // metadata.actor.keyId, .keyName or .sub (a person)
	From          time.Time // recorded_at >= From
	To            time.Time // recorded_at < To
	AfterPosition int64
	Limit         int // 0: no limit (exports)
}
