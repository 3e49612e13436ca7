package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/apiwire"
	"github.com/sessiond/sessiond/internal/app"
)

// pathIDs returns the validated, unescaped {id} and, if present,
// {sessionId} of the request path.
func pathIDs(r *http.Request) (userID, sessionID string, err error) {
	vars := mux.Vars(r)
	if userID, err = url.PathUnescape(vars["id"]); err != nil {
		return "", "", domain.Errorf(domain.CodeValidation, "id (user id) is not a valid path segment")
	}
	if err := domain.ValidateUserID(userID); err != nil {
		return "", "", err
	}
	raw, ok := vars["sessionId"]
	if !ok {
		return userID, "", nil
	}
	if sessionID, err = url.PathUnescape(raw); err != nil {
		return "", "", domain.Errorf(domain.CodeValidation, "sessionId is not a valid path segment")
	}
	return userID, sessionID, domain.ValidateSessionID(sessionID)
}

type reasonBody struct {
	Reason string `json:"reason"`
}

// revoke is the seed endpoint: DELETE /users/{id}/sessions/{sessionId}.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	userID, sessionID, err := pathIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body reasonBody
	if err := decodeBody(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := domain.ValidateReason(body.Reason); err != nil {
		s.writeError(w, r, err)
		return
	}
	m := meta(r)
	if m.Idempotency, err = idempotency(r, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.Revoke(r.Context(), m, userID, sessionID, body.Reason)
	if err != nil {
		if c := domain.ErrorCode(err); c == domain.CodeSessionNotFound || c == domain.CodeUserNotFound {
			revocations.WithLabelValues("not_found").Inc()
		}
		s.writeError(w, r, err)
		return
	}
	outcome := "revoked"
	if res.AlreadyRevoked {
		outcome = "already_revoked"
	}
	revocations.WithLabelValues(outcome).Inc()
	var recs []app.Event
	switch {
	case res.Event != nil:
		recs = []app.Event{*res.Event}
	case res.Original != nil:
		recs = []app.Event{*res.Original} // broadcast again: a retry also retries the broadcast
	}
	writeJSON(w, http.StatusOK, apiwire.RevokeResponse{
		SessionDTO:     apiwire.SessionDTOOf(res.Session),
		AlreadyRevoked: res.AlreadyRevoked,
		Broadcast:      s.broadcast(r, recs),
	})
}

// broadcast publishes fresh revocations at once, waiting a short bound for
// JetStream's ack; without a Broadcaster, or past the bound, the relay
// delivers them later ("pending").
func (s *Server) broadcast(r *http.Request, recs []app.Event) apiwire.BroadcastDTO {
	if len(recs) > 0 && s.bc != nil && s.bc.PublishNow(r.Context(), recs) {
		return apiwire.BroadcastDTO{Status: "published"}
	}
	return apiwire.BroadcastDTO{Status: "pending"}
}

// revokeAll is DELETE /users/{id}/sessions.
func (s *Server) revokeAll(w http.ResponseWriter, r *http.Request) {
	userID, _, err := pathIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body reasonBody
	if err := decodeBody(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := domain.ValidateReason(body.Reason); err != nil {
		s.writeError(w, r, err)
		return
	}
	m := meta(r)
	m.CorrelationID = m.RequestID
	if m.Idempotency, err = idempotency(r, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, recs, err := s.svc.RevokeAll(r.Context(), m, userID, body.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	revocations.WithLabelValues("revoked").Add(float64(len(list)))
	resp := apiwire.RevokeAllResponse{Revoked: len(list), Sessions: apiwire.SessionDTOs(list), Broadcast: s.broadcast(r, recs)}
	if len(recs) > 0 {
		resp.CorrelationID = correlationOf(recs) // the original's, when replayed
	}
	writeJSON(w, http.StatusOK, resp)
}

type startBody struct {
	SessionID  string          `json:"sessionId"`
	TTLSeconds *int64          `json:"ttlSeconds"`
	ExpiresAt  *time.Time      `json:"expiresAt"`
	Metadata   json.RawMessage `json:"metadata"`
}

// start is POST /users/{id}/sessions. It answers 201 for a new session and
// 200 for a repeated start of the same session.
func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	userID, _, err := pathIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body startBody
	if err := decodeBody(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	expires, err := s.expiry(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.SessionID != "" {
		if err := domain.ValidateSessionID(body.SessionID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if string(body.Metadata) == "null" {
		body.Metadata = nil
	}
	m := meta(r)
	if m.Idempotency, err = idempotency(r, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, created, err := s.svc.Start(r.Context(), m, domain.StartSession{
		UserID: userID, SessionID: body.SessionID, ExpiresAt: expires, Metadata: body.Metadata})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	resp := StartResponse{SessionDTO: apiwire.SessionDTOOf(sess), Metadata: sess.Metadata}
	if s.opts.Tokens != nil && sess.Status == domain.StatusActive {
		if resp.Token, err = s.opts.Tokens.Mint(sess.UserID, sess.SessionID, sess.ExpiresAt, time.Now()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, status, resp)
}

// expiry turns ttlSeconds or expiresAt (at most one) into an expiry time.
func (s *Server) expiry(b startBody) (time.Time, error) {
	now := time.Now()
	switch {
	case b.TTLSeconds != nil && b.ExpiresAt != nil:
		return time.Time{}, domain.Errorf(domain.CodeValidation, "give ttlSeconds or expiresAt, not both")
	case b.TTLSeconds != nil:
		ttl := *b.TTLSeconds
		if ttl <= 0 || ttl > int64(s.opts.MaxTTL/time.Second) {
			return time.Time{}, domain.Errorf(domain.CodeValidation, "ttlSeconds must be 1 to %d", int64(s.opts.MaxTTL/time.Second))
		}
		return now.Add(time.Duration(ttl) * time.Second), nil
	case b.ExpiresAt != nil:
		if !b.ExpiresAt.After(now) || b.ExpiresAt.After(now.Add(s.opts.MaxTTL)) {
			return time.Time{}, domain.Errorf(domain.CodeValidation, "expiresAt must be in the future and at most %s ahead", s.opts.MaxTTL)
		}
		return *b.ExpiresAt, nil
	default:
		return now.Add(s.opts.DefaultTTL), nil
	}
}

// get is GET /users/{id}/sessions/{sessionId}: one session and its history.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	userID, sessionID, err := pathIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, recs, err := s.svc.Get(r.Context(), userID, sessionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	personal, err := s.reveal(r, recs) // raw values only with personal:read
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, SessionResponse{SessionDTO: apiwire.SessionDTOOf(sess), Metadata: sess.Metadata, History: eventDTOs(recs, personal)})
}

// Listing limits.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
)

// list is GET /users/{id}/sessions?status=&limit=&after=.
func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	userID, _, err := pathIDs(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := app.ListFilter{UserID: userID, Status: q.Get("status"), After: q.Get("after"), Limit: defaultListLimit}
	switch f.Status {
	case "":
		f.Status = "all"
	case "active", "revoked", "expired", "all":
	default:
		s.writeError(w, r, domain.Errorf(domain.CodeValidation, "status must be active, revoked, expired or all"))
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			s.writeError(w, r, domain.Errorf(domain.CodeValidation, "limit must be 1 to %d", maxListLimit))
			return
		}
		f.Limit = n
	}
	if v := q.Get("asOf"); v != "" {
		asOf, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.writeError(w, r, domain.Errorf(domain.CodeValidation, "asOf must be an RFC 3339 time, e.g. 2026-03-01T14:03:00Z"))
			return
		}
		s.listAsOf(w, r, userID, asOf, f.Status, f.After, f.Limit)
		return
	}
	list, next, err := s.svc.List(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := apiwire.ListResponse{Sessions: apiwire.SessionDTOs(list)}
	if next != "" {
		resp.Next = &next
	}
	writeJSON(w, http.StatusOK, resp)
}
