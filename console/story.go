package console

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// entry is one event of a session's timeline.
type entry struct {
	Position      int64
	Type          string
	At            time.Time
	ActorName     string
	ActorID       string
	ActorKind     string // "key", "person", "cli" or "system"
	ActorOwner    string // a key's owner, when it has one
	Reason        string
	RequestID     string
	CorrelationID string
	SourceIP      *string // nil: not shown (scope) or erased
	UserAgent     *string
	Erased        bool // personal data was recorded but is erased
	Revocation    bool
	Hash          string
	Data          json.RawMessage
}

type storyView struct {
	Session      app.Session
	Answer       apiwire.SessionDTO
	Entries      []entry
	ShowPersonal bool // the key may read personal data (IPs, user agents): personal:read
	// Broadcast: the relay's position, and whether it covers the
	// revocation (known only with a BroadcastPosition).
	RelayKnown      bool
	RelayPosition   int64
	RevokedAt       int64 // position of the revocation, 0 if none
	VerifiersHaveIt bool
	CanRevoke       bool
}

type eventMeta struct {
	Actor         domain.Actor `json:"actor"`
	RequestID     string       `json:"requestId"`
	CorrelationID string       `json:"correlationId"`
	SourceIP      string       `json:"sourceIp"`
	UserAgent     string       `json:"userAgent"`
}

// story shows every event of one session (GET
// /console/users/{user}/sessions/{session}).
func (c *Console) story(w http.ResponseWriter, r *http.Request) {
	user, sid := r.PathValue("user"), r.PathValue("session")
	sess, recs, err := c.svc.Get(r.Context(), user, sid)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	s := current(r)
	v := storyView{Session: sess, Answer: apiwire.SessionDTOOf(sess), ShowPersonal: s.can(domain.ScopePersonalRead),
		CanRevoke: s.can(domain.ScopeSessionsRevoke) && sess.Status == domain.StatusActive}
	personal := make([]app.Personal, len(recs))
	if v.ShowPersonal && c.audit != nil {
		if personal, err = c.audit.Reveal(r.Context(), recs); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	for i := range recs {
		v.Entries = append(v.Entries, entryOf(&recs[i], personal[i], v.ShowPersonal))
		if recs[i].Type == domain.TypeSessionRevoked && v.RevokedAt == 0 {
			v.RevokedAt = recs[i].Position
		}
	}
	if c.opts.BroadcastPosition != nil {
		if pos, err := c.opts.BroadcastPosition(r.Context()); err == nil {
			v.RelayKnown, v.RelayPosition = true, pos
			v.VerifiersHaveIt = v.RevokedAt > 0 && pos >= v.RevokedAt
		} else {
			c.log.WarnContext(r.Context(), "console: broadcast position unknown", "err", err)
		}
	}
	c.render(w, r, http.StatusOK, "story", v)
}

func entryOf(r *app.Event, p app.Personal, showPersonal bool) entry {
	e := entry{Position: r.Position, Type: r.Type, At: r.RecordedAt, Data: r.Data, Revocation: r.Type == domain.TypeSessionRevoked}
	var m eventMeta
	_ = json.Unmarshal(r.Metadata, &m) // metadata is the service's own JSON
	e.ActorName, e.ActorID, e.RequestID, e.CorrelationID = m.Actor.Label(), m.Actor.ID(), m.RequestID, m.CorrelationID
	e.ActorKind, e.ActorOwner = actorKind(m.Actor), m.Actor.Owner
	var d struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(r.Data, &d)
	e.Reason = d.Reason
	if showPersonal {
		e.SourceIP, e.UserAgent = p["sourceIp"], p["userAgent"]
		e.Erased = (m.SourceIP != "" && e.SourceIP == nil) || (m.UserAgent != "" && e.UserAgent == nil)
	}
	e.Hash = hexOf(r.Hash)
	return e
}

// actorKind names the kind of actor for people reading the timeline.
func actorKind(a domain.Actor) string {
	switch a.Kind {
	case "", domain.ActorKey:
		return "key"
	case domain.ActorOIDC:
		return "person"
	}
	return a.Kind
}
