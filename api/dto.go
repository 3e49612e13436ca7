package api

import (
	"encoding/json"
	"time"

	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// StartResponse answers POST /users/{id}/sessions.
type StartResponse struct {
	apiwire.SessionDTO
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Token    string          `json:"token,omitempty"`
}

// EventDTO is one event of a session's history.
type EventDTO struct {
	Position   int64           `json:"position"`
	EventID    string          `json:"eventId"`
	Type       string          `json:"type"`
	Version    int64           `json:"streamVersion"`
	RecordedAt time.Time       `json:"recordedAt"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
	// Personal resolves metadata's personal-data references; see
	// app.AuditEvent.
	Personal app.Personal `json:"personal,omitempty"`
}

// SessionResponse answers GET /users/{id}/sessions/{sessionId}.
type SessionResponse struct {
	apiwire.SessionDTO
	Metadata json.RawMessage `json:"metadata,omitempty"`
	History  []EventDTO      `json:"history"`
}

func eventDTOs(recs []app.Event, personal []app.Personal) []EventDTO {
	out := make([]EventDTO, len(recs))
	for i, r := range recs {
		out[i] = EventDTO{Position: r.Position, EventID: r.EventID.String(), Type: r.Type, Version: r.StreamVersion,
			RecordedAt: r.RecordedAt, Data: r.Data, Metadata: r.Metadata}
		if i < len(personal) {
			out[i].Personal = personal[i]
		}
	}
	return out
}
