package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/projections"
)

// maxAttempts bounds the load-decide-append retries after a conflict.
const maxAttempts = 8

// Log is the event log the service appends to and loads streams from.
type Log interface {
	Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error)
	ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error)
	ReadEvent(ctx context.Context, id uuid.UUID) (*eventstore.Recorded, error)
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error)
}

// Reads is the read model the service queries.
type Reads interface {
	UserExists(ctx context.Context, userID string) (bool, error)
	// Session returns one session, or nil if there is none.
	Session(ctx context.Context, sessionID string) (*projections.SessionRow, error)
	ListSessions(ctx context.Context, f projections.ListFilter) ([]projections.SessionRow, error)
	ActiveSessionIDs(ctx context.Context, userID string, now time.Time) ([]string, error)
	AdminKeys(ctx context.Context) ([]projections.KeyRow, error)
}

// Service runs sessiond's commands and queries.
type Service struct {
	log    Log
	reads  Reads
	clock  func() time.Time
	slog   *slog.Logger
	keys   *KeyTable    // authentication's source; see WithKeys
	people People       // OIDC access tokens; see WithPeople
	busy   inflight     // idempotency keys being worked on
	cache  sessionCache // recent sessions, to decide revocations without a read
	// requireReason refuses revocations without a reason (WithPolicy).
	requireReason bool
}

// New returns a Service. clock may be nil for time.Now.
func New(log Log, reads Reads, clock func() time.Time, logger *slog.Logger) *Service {
	if clock == nil {
		clock = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{log: log, reads: reads, clock: clock, slog: logger, cache: newSessionCache()}
}

// Meta describes who asked for a change and how; it becomes the metadata
// of every event the change appends.
type Meta struct {
	Actor         domain.Actor `json:"actor"`
	RequestID     string       `json:"requestId,omitempty"`
	CorrelationID string       `json:"correlationId,omitempty"`
	SourceIP      string       `json:"sourceIp,omitempty"`
	UserAgent     string       `json:"userAgent,omitempty"`
	// Idempotency, when the client sent an Idempotency-Key.
	Idempotency *Idempotency `json:"idempotency,omitempty"`
}

func (m Meta) encode() json.RawMessage {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // only strings: cannot fail
	}
	return b
}

// streamAppend builds the append of events to one stream, each carrying
// meta; the request's personal data goes along (protect).
func (s *Service) streamAppend(meta Meta, streamID string, expected int64, events ...domain.Event) (eventstore.StreamAppend, error) {
	meta, personal := s.protect(meta)
	md := meta.encode()
	sa := eventstore.StreamAppend{StreamID: streamID, ExpectedVersion: expected, Events: make([]eventstore.Proposed, len(events)), Personal: personal}
	for i, e := range events {
		typ, data, err := domain.EncodeEvent(e)
		if err != nil {
			return sa, err
		}
		sa.Events[i] = eventstore.Proposed{Type: typ, Data: data, Metadata: md, Event: e}
	}
	return sa, nil
}

// loadStream reads and decodes a stream.
func (s *Service) loadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, []domain.Event, error) {
	recs, err := s.log.ReadStream(ctx, streamID)
	if err != nil {
		return nil, nil, storeError(err)
	}
	evs := make([]domain.Event, len(recs))
	for i, r := range recs {
		if evs[i], err = domain.DecodeEvent(r.Type, r.Data); err != nil {
			return nil, nil, fmt.Errorf("stream %s: %w", streamID, err)
		}
	}
	return recs, evs, nil
}

func (s *Service) loadSession(ctx context.Context, sessionID string) (*domain.Session, []eventstore.Recorded, error) {
	recs, evs, err := s.loadStream(ctx, domain.SessionStream(sessionID))
	if err != nil {
		return nil, nil, err
	}
	sess, err := domain.RestoreSession(evs)
	return sess, recs, err
}

// storeError turns store failures into application errors: unreachable
// storage is UNAVAILABLE (nothing was recorded), an append that may or may
// not have committed is OUTCOME_UNKNOWN; anything else stays an internal
// error for the caller to log once.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, eventstore.ErrOutcomeUnknown):
		return &outcomeUnknown{err}
	case Unavailable(err):
		return &unavailable{err}
	case errors.Is(err, eventstore.ErrInvalidAppend):
		return domain.Errorf(domain.CodeValidation, "the request holds data that cannot be stored")
	}
	return err
}

// unavailable is an UNAVAILABLE domain error that keeps its cause.
type unavailable struct{ cause error }

func (u *unavailable) Error() string { return "store unavailable: " + u.cause.Error() }
func (u *unavailable) Unwrap() []error {
	return []error{u.cause, domain.Errorf(domain.CodeUnavailable, "the session store is unavailable; nothing was recorded, retry later")}
}

// outcomeUnknown is an OUTCOME_UNKNOWN domain error that keeps its cause.
type outcomeUnknown struct{ cause error }

func (u *outcomeUnknown) Error() string { return "outcome unknown: " + u.cause.Error() }
func (u *outcomeUnknown) Unwrap() []error {
	return []error{u.cause, domain.Errorf(domain.CodeOutcomeUnknown,
		"the change may or may not have been recorded; retry with the same Idempotency-Key, or read the session to find out")}
}

// conflictRetry reports whether err is a version clash worth retrying.
func conflictRetry(err error) bool { return errors.Is(err, eventstore.ErrConflict) }
