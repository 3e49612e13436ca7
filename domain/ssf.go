package domain

import (
	"encoding/json"
	"time"
)

// Shared Signals (SSF 1.0) identifiers.
const (
	// DeliveryPush is RFC 8935 push delivery; DeliveryPoll is RFC 8936 poll.
	DeliveryPush = "urn:ietf:rfc:8935"
	DeliveryPoll = "urn:ietf:rfc:8936"

	// EventSessionRevoked is the CAEP session-revoked event type.
	EventSessionRevoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
	// EventVerification is the SSF verification event type.
	EventVerification = "https://schemas.openid.net/secevent/ssf/event-type/verification"
	// EventStreamUpdated is the SSF stream-updated event type.
	EventStreamUpdated = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"

	// SSF stream statuses.
	SSFEnabled  = "enabled"
	SSFPaused   = "paused"
	SSFDisabled = "disabled"
)

// SSFEventsSupported are the event types every stream may request.
var SSFEventsSupported = []string{EventSessionRevoked, EventVerification, EventStreamUpdated}

// SSFStreamsStream is the log stream holding every SSF stream's
// configuration events, so that one read rebuilds the whole registry.
// Verification requests and delivery failures, which accumulate, have
// streams of their own per SSF stream.
const SSFStreamsStream = "ssf-streams"

// SSFVerifyStream is the log stream of an SSF stream's verification requests.
func SSFVerifyStream(id string) string { return "ssf-verify-" + id }

// SSFFailureStream is the log stream of an SSF stream's refused SETs.
func SSFFailureStream(id string) string { return "ssf-failures-" + id }

// Event types of SSF stream management, in the events table's type column.
const (
	TypeSSFStreamCreated         = "SSFStreamCreated"
	TypeSSFStreamUpdated         = "SSFStreamUpdated"
	TypeSSFStreamStatusChanged   = "SSFStreamStatusChanged"
	TypeSSFStreamDeleted         = "SSFStreamDeleted"
	TypeSSFSubjectAdded          = "SSFSubjectAdded"
	TypeSSFSubjectRemoved        = "SSFSubjectRemoved"
	TypeSSFVerificationRequested = "SSFVerificationRequested"
	TypeSSFDeliveryFailed        = "SSFDeliveryFailed"
)

// SSFDelivery is a stream's delivery method. AuthorizationHeader is sealed
// (encrypted by the transmitter's key) before it reaches the log; it is
// never answered to clients.
type SSFDelivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpointUrl,omitempty"`
	AuthorizationHeader string `json:"authorizationHeader,omitempty"`
}

// SSFStreamConfig is the receiver-visible configuration of a stream.
type SSFStreamConfig struct {
	StreamID        string      `json:"streamId"`
	Audience        []string    `json:"audience"`
	EventsRequested []string    `json:"eventsRequested"`
	EventsDelivered []string    `json:"eventsDelivered"`
	Delivery        SSFDelivery `json:"delivery"`
	Description     string      `json:"description,omitempty"`
	// Owner is the admin key that created the stream: only it may see and
	// manage the stream (SSF: authorization associates a receiver with its
	// streams).
	Owner string `json:"owner,omitempty"`
}

// SSFStreamCreated records a new stream. Its events start after this
// event's position: a new stream starts from "now".
type SSFStreamCreated struct {
	Config    SSFStreamConfig `json:"config"`
	CreatedAt time.Time       `json:"createdAt"`
}

// SSFStreamUpdated records a changed configuration (PATCH or PUT); it holds
// the whole configuration after the change.
type SSFStreamUpdated struct {
	Config    SSFStreamConfig `json:"config"`
	Replace   bool            `json:"replace"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// SSFStreamStatusChanged records a status change, by a receiver's admin key
// or by the transmitter itself (Transmitter true, e.g. after a permanent
// delivery error).
type SSFStreamStatusChanged struct {
	ID          string    `json:"streamId"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Transmitter bool      `json:"transmitter,omitempty"`
	ChangedAt   time.Time `json:"changedAt"`
}

// SSFStreamDeleted records that a stream delivers nothing more.
type SSFStreamDeleted struct {
	ID        string    `json:"streamId"`
	DeletedAt time.Time `json:"deletedAt"`
}

// SSFSubjectAdded and SSFSubjectRemoved record subject changes. Subject is
// an RFC 9493 subject identifier (or an SSF complex subject) as JSON.
type SSFSubjectAdded struct {
	ID       string          `json:"streamId"`
	Subject  json.RawMessage `json:"subject"`
	Verified *bool           `json:"verified,omitempty"`
	At       time.Time       `json:"at"`
}

// SSFSubjectRemoved: see SSFSubjectAdded.
type SSFSubjectRemoved struct {
	ID      string          `json:"streamId"`
	Subject json.RawMessage `json:"subject"`
	At      time.Time       `json:"at"`
}

// SSFVerificationRequested records a verification request; the stream's
// consumer turns it into a verification SET carrying State.
type SSFVerificationRequested struct {
	ID          string    `json:"streamId"`
	State       string    `json:"state,omitempty"`
	RequestedAt time.Time `json:"requestedAt"`
}

// SSFDeliveryFailed records a SET a receiver refused for good (RFC 8935
// error response, or an RFC 8936 setErrs entry).
type SSFDeliveryFailed struct {
	ID          string    `json:"streamId"`
	JTI         string    `json:"jti"`
	Position    int64     `json:"position"` // of the event the SET was made from
	HTTPStatus  int       `json:"httpStatus,omitempty"`
	Err         string    `json:"err,omitempty"`
	Description string    `json:"description,omitempty"`
	Skipped     bool      `json:"skipped"` // the SET was dropped (else held and the stream paused)
	FailedAt    time.Time `json:"failedAt"`
}

// SETError is a receiver's error for one SET (RFC 8935 section 2.3, RFC
// 8936 setErrs).
type SETError struct {
	Err         string `json:"err"`
	Description string `json:"description,omitempty"`
}

// EventType implements Event.
func (SSFStreamCreated) EventType() string { return TypeSSFStreamCreated }

// EventType implements Event.
func (SSFStreamUpdated) EventType() string { return TypeSSFStreamUpdated }

// EventType implements Event.
func (SSFStreamStatusChanged) EventType() string { return TypeSSFStreamStatusChanged }

// EventType implements Event.
func (SSFStreamDeleted) EventType() string { return TypeSSFStreamDeleted }

// EventType implements Event.
func (SSFSubjectAdded) EventType() string { return TypeSSFSubjectAdded }

// EventType implements Event.
func (SSFSubjectRemoved) EventType() string { return TypeSSFSubjectRemoved }

// EventType implements Event.
func (SSFVerificationRequested) EventType() string { return TypeSSFVerificationRequested }

// EventType implements Event.
func (SSFDeliveryFailed) EventType() string { return TypeSSFDeliveryFailed }

// StreamID implements Event.
func (SSFStreamCreated) StreamID() string { return SSFStreamsStream }

// StreamID implements Event.
func (SSFStreamUpdated) StreamID() string { return SSFStreamsStream }

// StreamID implements Event.
func (SSFStreamStatusChanged) StreamID() string { return SSFStreamsStream }

// StreamID implements Event.
func (SSFStreamDeleted) StreamID() string { return SSFStreamsStream }

// StreamID implements Event.
func (SSFSubjectAdded) StreamID() string { return SSFStreamsStream }

// StreamID implements Event.
func (SSFSubjectRemoved) StreamID() string { return SSFStreamsStream }

// StreamID implements Event.
func (e SSFVerificationRequested) StreamID() string { return SSFVerifyStream(e.ID) }

// StreamID implements Event.
func (e SSFDeliveryFailed) StreamID() string { return SSFFailureStream(e.ID) }

// SSFStreamOf returns the SSF stream id an SSF event concerns, or "".
func SSFStreamOf(e Event) string {
	switch e := e.(type) {
	case SSFStreamCreated:
		return e.Config.StreamID
	case SSFStreamUpdated:
		return e.Config.StreamID
	case SSFStreamStatusChanged:
		return e.ID
	case SSFStreamDeleted:
		return e.ID
	case SSFSubjectAdded:
		return e.ID
	case SSFSubjectRemoved:
		return e.ID
	case SSFVerificationRequested:
		return e.ID
	case SSFDeliveryFailed:
		return e.ID
	}
	return ""
}

// SSFPollRequest is an RFC 8936 poll request.
type SSFPollRequest struct {
	MaxEvents         int // 0: acknowledge only; negative: the transmitter's default
	ReturnImmediately bool
	Acks              []string
	SetErrs           map[string]SETError
}
