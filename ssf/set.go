package ssf

import (
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// jtiSpace is the UUIDv5 name space of SET ids.
var jtiSpace = uuid.MustParse("5e551d00-55f0-4c3a-9e7e-0c0ffee5e7ed")

// JTI is the SET id of the log event eventID on stream streamID: the same
// on every (re)delivery, so receivers de-duplicate, and different per
// stream.
func JTI(streamID string, eventID uuid.UUID) string {
	return uuid.NewSHA1(jtiSpace, []byte(streamID+"/"+eventID.String())).String()
}

// Subject formats for the user member of session-revoked subjects.
const (
	UserIssSub = "iss_sub" // {"format":"iss_sub","iss":<token issuer>,"sub":<user id>}
	UserOpaque = "opaque"  // {"format":"opaque","id":<user id>}
	UserEmail  = "email"   // {"format":"email","email":<user id>} when it is an address, else iss_sub
)

// item is one SET due on a stream, before signing.
type item struct {
	pos    int64
	jti    string
	typ    string // event type URI, for logs and metrics
	claims map[string]any
}

// builder makes the claims of each kind of SET.
type builder struct {
	issuer        string // iss of SETs
	subjectIssuer string // iss of iss_sub user subjects
	userFormat    string
}

func (b builder) base(st *domain.SSFStream, rec eventstore.Recorded, typ string, subject any, event map[string]any) *item {
	var aud any = st.Config.Audience
	if len(st.Config.Audience) == 1 {
		aud = st.Config.Audience[0]
	}
	jti := JTI(st.Config.StreamID, rec.EventID)
	c := map[string]any{"iss": b.issuer, "aud": aud, "jti": jti, "sub_id": subject, "events": map[string]any{typ: event}}
	if txn := txnOf(rec); txn != "" {
		c["txn"] = txn
	}
	return &item{pos: rec.Position, jti: jti, typ: typ, claims: c}
}

// sessionRevoked is the CAEP session-revoked SET of e.
func (b builder) sessionRevoked(st *domain.SSFStream, rec eventstore.Recorded, e domain.SessionRevoked) *item {
	reason := e.Reason
	if reason == "" {
		reason = "Session revoked by an administrator (no reason given)"
	}
	return b.base(st, rec, domain.EventSessionRevoked, b.subjectOf(e), map[string]any{
		"event_timestamp":   e.RevokedAt.Unix(),
		"initiating_entity": "admin",
		"reason_admin":      map[string]string{"en": reason},
	})
}

// SubjectOf is the complex subject of a revocation: the user (in the
// configured format) and the session (opaque).
func (b builder) subjectOf(e domain.SessionRevoked) map[string]any {
	return map[string]any{
		"format":  "complex",
		"user":    b.user(e.UserID),
		"session": map[string]string{"format": "opaque", "id": e.SessionID},
	}
}

func (b builder) user(id string) map[string]string {
	switch {
	case b.userFormat == UserOpaque:
		return map[string]string{"format": "opaque", "id": id}
	case b.userFormat == UserEmail && looksLikeEmail(id):
		return map[string]string{"format": "email", "email": id}
	}
	return map[string]string{"format": "iss_sub", "iss": b.subjectIssuer, "sub": id}
}

// verification is the SSF verification SET of a request.
func (b builder) verification(st *domain.SSFStream, rec eventstore.Recorded, state string) *item {
	ev := map[string]any{}
	if state != "" {
		ev["state"] = state
	}
	return b.base(st, rec, domain.EventVerification, streamSubject(st), ev)
}

// streamUpdated is the SSF stream-updated SET of a status change.
func (b builder) streamUpdated(st *domain.SSFStream, rec eventstore.Recorded, e domain.SSFStreamStatusChanged) *item {
	ev := map[string]any{"status": e.Status}
	if e.Reason != "" {
		ev["reason"] = e.Reason
	}
	return b.base(st, rec, domain.EventStreamUpdated, streamSubject(st), ev)
}

func streamSubject(st *domain.SSFStream) map[string]string {
	return map[string]string{"format": "opaque", "id": st.Config.StreamID}
}

// txnOf is the SET's txn: the event's correlation id (shared by a
// revoke-all), else its request id.
func txnOf(rec eventstore.Recorded) string {
	var m struct {
		RequestID     string `json:"requestId"`
		CorrelationID string `json:"correlationId"`
	}
	_ = json.Unmarshal(rec.Metadata, &m)
	if m.CorrelationID != "" {
		return m.CorrelationID
	}
	return m.RequestID
}

func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && strings.Contains(s[at:], ".")
}
