package app

import (
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// AuditCSVHeader names the columns of a CSV audit export.
var AuditCSVHeader = []string{"position", "recordedAt", "type", "streamId", "streamVersion", "userId", "sessionId",
	"actorKeyId", "actorName", "actorOwner", "reason", "requestId", "correlationId", "sourceIp", "userAgent", "eventId", "prevHash", "hash", "data", "metadata"}

// csvFields are the fields a CSV row lifts out of data and metadata.
type csvFields struct {
	UserID    string        `json:"userId"`
	SessionID string        `json:"sessionId"`
	Reason    string        `json:"reason"`
	RevokedBy *domain.Actor `json:"revokedBy"`
}

type csvMeta struct {
	Actor         domain.Actor `json:"actor"`
	RequestID     string       `json:"requestId"`
	CorrelationID string       `json:"correlationId"`
	SourceIP      string       `json:"sourceIp"`
	UserAgent     string       `json:"userAgent"`
}

// AuditCSVRow renders one event as a row of a CSV audit export. Every text cell is made safe
// for spreadsheets (SafeCell), so a reason or user agent such as
// "=HYPERLINK(...)" is shown, never evaluated.
func AuditCSVRow(e *Event, p Personal) []string {
	var d csvFields
	var m csvMeta
	_ = json.Unmarshal(e.Data, &d)
	_ = json.Unmarshal(e.Metadata, &m)
	actor := m.Actor
	if actor.IsZero() && d.RevokedBy != nil {
		actor = *d.RevokedBy
	}
	// A person has no key id; actorName shows their email, name or sub.
	keyID, name := actor.KeyID, actor.Label()
	ip, ua := reveal(m.SourceIP, "sourceIp", p), reveal(m.UserAgent, "userAgent", p)
	row := []string{strconv.FormatInt(e.Position, 10), e.RecordedAt.UTC().Format(eventstore.TimeFormat), e.Type, e.StreamID,
		strconv.FormatInt(e.StreamVersion, 10), d.UserID, d.SessionID, keyID, name, actorOwner(actor), d.Reason, m.RequestID, m.CorrelationID,
		ip, ua, e.EventID.String(), hex.EncodeToString(e.PrevHash), hex.EncodeToString(e.Hash),
		string(e.Data), string(e.Metadata)}
	for i := range row {
		row[i] = SafeCell(row[i])
	}
	return row
}

// ErasedValue stands in a CSV cell for personal data that was erased.
const ErasedValue = "[erased]"

// reveal shows a metadata value: a personal-data reference becomes its
// value, or ErasedValue once erased.
func reveal(v, name string, p Personal) string {
	if _, ok := eventstore.PersonalRef(v); !ok {
		return v
	}
	if val := p[name]; val != nil {
		return *val
	}
	return ErasedValue
}

// SafeCell neutralises spreadsheet formula injection (CWE-1236): a cell
// that starts with =, +, -, @, a tab or a carriage return is prefixed with
// a single quote, which spreadsheets show but do not evaluate. The csv
// package then quotes and escapes the cell itself.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// actorOwner is the actorOwner cell: a key's owner, nothing for a person
// (actorName names them; iss and sub are in metadata), or for the CLI and
// sessiond itself "cli:<osUser>@<host>" and "system:<host>".
func actorOwner(a domain.Actor) string {
	switch a.Kind {
	case "", domain.ActorKey:
		return a.Owner
	case domain.ActorOIDC:
		return ""
	case domain.ActorCLI:
		return "cli:" + a.OSUser + "@" + a.Host
	}
	return a.Kind + ":" + a.Host
}
