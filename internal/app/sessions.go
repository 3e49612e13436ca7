package app

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/projections"
)

// Session is a session as the API shows it.
type Session struct {
	SessionID string
	UserID    string
	Status    domain.Status
	StartedAt time.Time
	ExpiresAt time.Time
	Metadata  []byte
	Revoked   *domain.Revocation
}

func viewOf(s *domain.Session, now time.Time) Session {
	return Session{SessionID: s.ID(), UserID: s.UserID(), Status: s.Status(now), StartedAt: s.StartedAt(),
		ExpiresAt: s.ExpiresAt(), Metadata: s.Metadata(), Revoked: s.Revocation()}
}

func viewOfRow(r projections.SessionRow, now time.Time) Session {
	v := Session{SessionID: r.SessionID, UserID: r.UserID, Status: r.Status(now), StartedAt: r.StartedAt,
		ExpiresAt: r.ExpiresAt, Metadata: r.Metadata}
	if r.RevokedAt != nil {
		v.Revoked = &domain.Revocation{At: *r.RevokedAt}
		if r.RevokedBy != nil {
			v.Revoked.By.KeyName = *r.RevokedBy
		}
		if r.RevokedByKeyID != nil {
			v.Revoked.By.KeyID = *r.RevokedByKeyID
		}
		if r.Reason != nil {
			v.Revoked.Reason = *r.Reason
		}
	}
	return v
}

// Start starts a session. An empty SessionID gets a generated UUIDv7.
// Starting an existing session of the same user returns it with created
// false.
//
// With meta.Idempotency, a repeated request answers what the first one
// did (the session as it was started, created true) and starts nothing
// more, even when the first request's outcome was unknown to its client.
func (s *Service) Start(ctx context.Context, meta Meta, cmd domain.StartSession) (view Session, created bool, err error) {
	done, err := s.begin(meta)
	if err != nil {
		return Session{}, false, err
	}
	defer done()
	if orig, err := s.original(ctx, meta); err != nil || orig != nil {
		if err != nil {
			return Session{}, false, err
		}
		view, err := s.asRecorded(ctx, *orig)
		return view, err == nil, err
	}
	generated := cmd.SessionID == ""
	if generated {
		id, err := uuid.NewV7()
		if err != nil {
			return Session{}, false, err
		}
		cmd.SessionID = id.String()
	}
	for attempt := range maxAttempts {
		var sess *domain.Session
		// A session id generated here names no session yet: nothing to
		// read (the append's expected version 0 still guards it).
		if !generated || attempt > 0 {
			if sess, err = s.snapshot(ctx, cmd.SessionID); err != nil {
				return Session{}, false, err
			}
		}
		if sess != nil && meta.Idempotency != nil {
			// The session exists: it may be this request's own, recorded
			// by a concurrent retry on another replica; the log tells.
			_, history, err := s.loadSession(ctx, cmd.SessionID)
			if err != nil {
				return Session{}, false, err
			}
			if orig, err := ownEvent(history, meta); err != nil || orig != nil {
				if err != nil {
					return Session{}, false, err
				}
				view, err := s.asRecorded(ctx, *orig)
				return view, err == nil, err
			}
		}
		now := s.clock()
		ev, err := domain.DecideStart(sess, cmd, now)
		if err != nil {
			return Session{}, false, err
		}
		if ev == nil {
			return viewOf(sess, now), false, nil
		}
		sa, err := s.streamAppend(meta, ev.StreamID(), 0, *ev)
		if err != nil {
			return Session{}, false, err
		}
		withIDs(meta, []eventstore.StreamAppend{sa})
		recs, err := s.log.Append(ctx, sa)
		if conflictRetry(err) {
			continue
		}
		if err != nil {
			return Session{}, false, storeError(err)
		}
		if meta.Idempotency != nil {
			// The answer is what the log holds: a concurrent retry may have
			// recorded its session first, making this append a no-op.
			if err := sameRequest(recs[0], meta); err != nil {
				return Session{}, false, err
			}
			view, err := s.asRecorded(ctx, recs[0])
			return view, err == nil, err
		}
		started, _ := domain.RestoreSession([]domain.Event{*ev})
		s.cache.put(started)
		return viewOf(started, now), true, nil
	}
	return Session{}, false, domain.Errorf(domain.CodeConflict, "session %s is changing too fast; retry", cmd.SessionID)
}

// Revocation is the outcome of Revoke.
type Revocation struct {
	Session        Session
	AlreadyRevoked bool
	Event          *eventstore.Recorded // the new SessionRevoked, if any
	// Original is the earlier SessionRevoked when AlreadyRevoked, so the
	// caller can broadcast it again (same event id: a duplicate is harmless).
	Original *eventstore.Recorded
}

// Revoke revokes one session of a user. It returns USER_NOT_FOUND when the
// authority has no record of the user and SESSION_NOT_FOUND when the
// session does not exist or is another user's. Revoking a revoked session
// appends nothing and reports the original revocation.
//
// With meta.Idempotency, a repeated request answers what the first one
// did (alreadyRevoked false, the same revocation) and appends nothing.
func (s *Service) Revoke(ctx context.Context, meta Meta, userID, sessionID, reason string) (Revocation, error) {
	if err := s.checkReason(reason); err != nil {
		return Revocation{}, err
	}
	done, err := s.begin(meta)
	if err != nil {
		return Revocation{}, err
	}
	defer done()
	if orig, err := s.original(ctx, meta); err != nil || orig != nil {
		if err != nil {
			return Revocation{}, err
		}
		return s.revokedAs(ctx, *orig)
	}
	cmd := domain.RevokeSession{UserID: userID, SessionID: sessionID, Actor: meta.Actor, Reason: reason}
	for attempt := range maxAttempts {
		sess := s.cache.get(sessionID)
		cached := sess != nil && attempt == 0
		if !cached {
			if sess, err = s.snapshot(ctx, sessionID); err != nil {
				return Revocation{}, err
			}
		}
		now := s.clock()
		d, err := domain.DecideRevoke(sess, cmd, now)
		if cached && (err != nil || d.Event == nil) {
			// A cached state only decides a new revocation, which the
			// append's version guard checks; any other answer comes from
			// the read model.
			s.cache.drop(sessionID)
			continue
		}
		if domain.ErrorCode(err) == domain.CodeSessionNotFound {
			return Revocation{}, s.userOrSessionNotFound(ctx, userID, err)
		}
		if err != nil {
			return Revocation{}, err
		}
		if d.Event == nil {
			return s.alreadyRevoked(ctx, meta, sessionID, sess, now)
		}
		sa, err := s.streamAppend(meta, d.Event.StreamID(), sess.Version(), *d.Event)
		if err != nil {
			return Revocation{}, err
		}
		withIDs(meta, []eventstore.StreamAppend{sa})
		recs, err := s.log.Append(ctx, sa)
		if conflictRetry(err) {
			s.cache.drop(sessionID)
			continue
		}
		if err != nil {
			return Revocation{}, storeError(err)
		}
		s.cache.drop(sessionID) // revoked: a repeat answers from the log
		if meta.Idempotency != nil {
			// The answer is what the log holds: a concurrent retry may
			// have recorded first, making this append a no-op.
			if err := sameRequest(recs[0], meta); err != nil {
				return Revocation{}, err
			}
			return s.revokedAs(ctx, recs[0])
		}
		revoked, _ := domain.RestoreSession(append(eventsOf(sess), *d.Event))
		return Revocation{Session: viewOf(revoked, now), Event: &recs[0]}, nil
	}
	return Revocation{}, domain.Errorf(domain.CodeConflict, "session %s is changing too fast; retry", sessionID)
}

// alreadyRevoked answers the revocation of a revoked session: the
// session as the read model shows it (sess), and the original
// SessionRevoked from the log, for the caller to broadcast again. When
// that event is this request's own (a concurrent retry with the same
// Idempotency-Key recorded it), it answers as the first request did.
func (s *Service) alreadyRevoked(ctx context.Context, meta Meta, sessionID string, sess *domain.Session, now time.Time) (Revocation, error) {
	_, history, err := s.loadSession(ctx, sessionID)
	if err != nil {
		return Revocation{}, err
	}
	if orig, err := ownEvent(history, meta); err != nil || orig != nil {
		if err != nil {
			return Revocation{}, err
		}
		return s.revokedAs(ctx, *orig)
	}
	res := Revocation{Session: viewOf(sess, now), AlreadyRevoked: true}
	for i := range history {
		if history[i].Type == domain.TypeSessionRevoked {
			res.Original = &history[i]
			break
		}
	}
	return res, nil
}

// revokedAs answers a repeated revocation: the session as rec, its
// SessionRevoked, left it.
func (s *Service) revokedAs(ctx context.Context, rec eventstore.Recorded) (Revocation, error) {
	view, err := s.asRecorded(ctx, rec)
	if err != nil {
		return Revocation{}, err
	}
	return Revocation{Session: view, Event: &rec}, nil
}

// eventsOf rebuilds the event list of a freshly started session.
func eventsOf(s *domain.Session) []domain.Event {
	return []domain.Event{domain.SessionStarted{SessionID: s.ID(), UserID: s.UserID(), StartedAt: s.StartedAt(),
		ExpiresAt: s.ExpiresAt(), Metadata: s.Metadata()}}
}

// userOrSessionNotFound picks USER_NOT_FOUND over SESSION_NOT_FOUND when
// the user is unknown altogether.
func (s *Service) userOrSessionNotFound(ctx context.Context, userID string, notFound error) error {
	ok, err := s.reads.UserExists(ctx, userID)
	if err != nil {
		return storeError(err)
	}
	if !ok {
		return domain.Errorf(domain.CodeUserNotFound, "user %s not found", userID)
	}
	return notFound
}

// RevokeAll revokes every active session of a user in one atomic append;
// the events share a correlation id (meta.CorrelationID, generated if
// empty). It returns the revoked sessions and their events.
func (s *Service) RevokeAll(ctx context.Context, meta Meta, userID, reason string) ([]Session, []eventstore.Recorded, error) {
	if err := domain.ValidateUserID(userID); err != nil {
		return nil, nil, err
	}
	if err := domain.ValidateReason(reason); err != nil {
		return nil, nil, err
	}
	if err := s.checkReason(reason); err != nil {
		return nil, nil, err
	}
	if meta.CorrelationID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, nil, err
		}
		meta.CorrelationID = id.String()
	}
	done, err := s.begin(meta)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	if orig, err := s.original(ctx, meta); err != nil || orig != nil {
		if err != nil {
			return nil, nil, err
		}
		recs, err := s.requestEvents(ctx, meta, *orig)
		if err != nil {
			return nil, nil, err
		}
		return s.revokedAllAs(ctx, recs)
	}
	userKnown := false
	for range maxAttempts {
		now := s.clock()
		ids, err := s.reads.ActiveSessionIDs(ctx, userID, now)
		if err != nil {
			return nil, nil, storeError(err)
		}
		if len(ids) == 0 {
			if userKnown {
				// The user was known before this read, and users are never
				// forgotten: "known, nothing active" held at this read.
				return nil, nil, nil
			}
			if err := s.userOrSessionNotFound(ctx, userID, nil); err != nil {
				return nil, nil, err
			}
			// The user became known after the first read, perhaps by a
			// start committed in between: read the sessions again, so the
			// answer never pairs "known" with a read that predates it.
			userKnown = true
			continue
		}
		sessions := make([]*domain.Session, 0, len(ids))
		for _, id := range ids {
			sess, _, err := s.loadSession(ctx, id)
			if err != nil {
				return nil, nil, err
			}
			sessions = append(sessions, sess)
		}
		evs, err := domain.DecideRevokeAll(sessions, domain.RevokeAll{UserID: userID, Actor: meta.Actor, Reason: reason}, now)
		if err != nil {
			return nil, nil, err
		}
		if len(evs) == 0 {
			return nil, nil, nil
		}
		byID := make(map[string]*domain.Session, len(sessions))
		for _, sess := range sessions {
			byID[sess.ID()] = sess
		}
		appends := make([]eventstore.StreamAppend, len(evs))
		views := make([]Session, len(evs))
		for i, e := range evs {
			sess := byID[e.SessionID]
			sa, err := s.streamAppend(meta, e.StreamID(), sess.Version(), e)
			if err != nil {
				return nil, nil, err
			}
			appends[i] = sa
			revoked, _ := domain.RestoreSession(append(eventsOf(sess), e))
			views[i] = viewOf(revoked, now)
		}
		// The version guards only cover the sessions read above. A session
		// started after the read must not survive: the append holds only
		// if the user's active sessions are still exactly ids when it
		// commits (checked under the store's append lock); otherwise it is
		// a conflict and the loop reads again. So the revoke-all takes
		// effect at one moment and revokes every session active then.
		appends[0].Precondition = &eventstore.Precondition{
			Key: "user:" + userID, Query: projections.QueryActiveSessionIDs,
			Args: []any{userID, now}, Want: ids,
		}
		withIDs(meta, appends)
		recs, err := s.log.Append(ctx, appends...)
		if conflictRetry(err) {
			continue
		}
		if errors.Is(err, eventstore.ErrPartialDuplicate) && meta.Idempotency != nil {
			return nil, nil, keyInUse() // a concurrent retry recorded a different set
		}
		if err != nil {
			return nil, nil, storeError(err)
		}
		for _, id := range ids {
			s.cache.drop(id) // revoked: no cached state to go stale
		}
		if meta.Idempotency != nil {
			// The answer is what the log holds: a concurrent retry may
			// have recorded first, making this append a no-op.
			if err := sameRequest(recs[0], meta); err != nil {
				return nil, nil, err
			}
			return s.revokedAllAs(ctx, recs)
		}
		return views, recs, nil
	}
	return nil, nil, domain.Errorf(domain.CodeConflict, "the sessions of user %s are changing too fast; retry", userID)
}

// revokedAllAs answers a repeated revoke-all from the events it recorded.
func (s *Service) revokedAllAs(ctx context.Context, recs []eventstore.Recorded) ([]Session, []eventstore.Recorded, error) {
	views := make([]Session, len(recs))
	for i, rec := range recs {
		v, err := s.asRecorded(ctx, rec)
		if err != nil {
			return nil, nil, err
		}
		views[i] = v
	}
	return views, recs, nil
}

// Get returns one session of a user and its full event history.
func (s *Service) Get(ctx context.Context, userID, sessionID string) (Session, []eventstore.Recorded, error) {
	if err := domain.ValidateUserID(userID); err != nil {
		return Session{}, nil, err
	}
	if err := domain.ValidateSessionID(sessionID); err != nil {
		return Session{}, nil, err
	}
	sess, recs, err := s.loadSession(ctx, sessionID)
	if err != nil {
		return Session{}, nil, err
	}
	if sess == nil || sess.UserID() != userID {
		nf := domain.Errorf(domain.CodeSessionNotFound, "session %s not found for user %s", sessionID, userID)
		return Session{}, nil, s.userOrSessionNotFound(ctx, userID, nf)
	}
	return s.withOwner(viewOf(sess, s.clock())), recs, nil
}

// List returns a page of a user's sessions and the cursor of the next page
// ("" on the last page).
func (s *Service) List(ctx context.Context, lf ListFilter) ([]Session, string, error) {
	if err := domain.ValidateUserID(lf.UserID); err != nil {
		return nil, "", err
	}
	if lf.After != "" {
		if err := domain.ValidateSessionID(lf.After); err != nil {
			return nil, "", domain.Errorf(domain.CodeValidation, "after must be a sessionId cursor")
		}
	}
	f := projections.ListFilter{UserID: lf.UserID, Status: lf.Status, After: lf.After, Limit: lf.Limit, Now: s.clock()}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	rows, err := s.reads.ListSessions(ctx, f)
	if err != nil {
		return nil, "", storeError(err)
	}
	if len(rows) == 0 && f.After == "" {
		if err := s.userOrSessionNotFound(ctx, f.UserID, nil); err != nil {
			return nil, "", err
		}
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].SessionID
	}
	out := make([]Session, len(rows))
	for i, r := range rows {
		out[i] = s.withOwner(viewOfRow(r, f.Now))
	}
	return out, next, nil
}
