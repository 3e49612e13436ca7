package app

import (
	"encoding/hex"
	"encoding/json"

	"github.com/sessiond/sessiond/eventstore"
)

// AuditEvent is one event as the audit API and NDJSON exports show it.
type AuditEvent struct {
	Position   int64           `json:"position"`
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	StreamID   string          `json:"streamId"`
	Version    int64           `json:"streamVersion"`
	RecordedAt string          `json:"recordedAt"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
	PrevHash   string          `json:"prevHash"`
	Hash       string          `json:"hash"`
	// Personal resolves metadata's personal-data references ("pd:…"):
	// field name to value, null once erased. Metadata itself is shown as
	// stored, since that is what the hash covers.
	Personal Personal `json:"personal,omitempty"`
}

// AuditEventOf renders an event as the audit API shows it.
func AuditEventOf(r *Event, p Personal) AuditEvent {
	return AuditEvent{Personal: p, Position: r.Position, EventID: r.EventID.String(), Type: r.Type, StreamID: r.StreamID,
		Version: r.StreamVersion, RecordedAt: r.RecordedAt.UTC().Format(eventstore.TimeFormat), Data: r.Data,
		Metadata: r.Metadata, PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}
}
