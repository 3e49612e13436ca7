package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Idempotency makes a change safe to retry (the Idempotency-Key header):
// the client's key and a fingerprint of the request (method, path and
// body). It is recorded in the metadata of every event the change
// appends, and the events' ids are derived from the acting admin key and
// the idempotency key. A retry therefore appends nothing twice — the
// stores treat a recorded event id as a no-op — and its answer is rebuilt
// from the log, on any replica, after any restart.
type Idempotency struct {
	Key     string `json:"key"`
	Request string `json:"request"` // the request's fingerprint
}

// idemNamespace is the UUIDv5 namespace of derived event ids.
var idemNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:sessiond:idempotency-key"))

// idemEventID is the id of the i-th event appended by the request that
// admin key keyID sent with idempotency key key.
func idemEventID(keyID, key string, i int) uuid.UUID {
	return uuid.NewSHA1(idemNamespace, []byte(keyID+"\x00"+key+"\x00"+strconv.Itoa(i)))
}

// inflight holds the idempotency keys this process is working on.
type inflight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

// begin claims an idempotent request's key for this process; the returned
// func releases it. A key already claimed is IDEMPOTENCY_KEY_IN_USE.
// (Concurrent retries on different replicas are still safe: the derived
// event ids let only one of them record anything.)
func (s *Service) begin(meta Meta) (func(), error) {
	if meta.Idempotency == nil {
		return func() {}, nil
	}
	k := meta.Actor.ID() + "\x00" + meta.Idempotency.Key
	s.busy.mu.Lock()
	defer s.busy.mu.Unlock()
	if s.busy.keys == nil {
		s.busy.keys = make(map[string]struct{})
	}
	if _, ok := s.busy.keys[k]; ok {
		return nil, keyInUse()
	}
	s.busy.keys[k] = struct{}{}
	return func() {
		s.busy.mu.Lock()
		delete(s.busy.keys, k)
		s.busy.mu.Unlock()
	}, nil
}

func keyInUse() error {
	return domain.Errorf(domain.CodeIdempotencyKeyInUse, "a request with this Idempotency-Key is still being processed; retry later")
}

// withIDs gives the events of appends, in order, the ids derived from
// meta's idempotency key.
func withIDs(meta Meta, appends []eventstore.StreamAppend) {
	if meta.Idempotency == nil {
		return
	}
	i := 0
	for a := range appends {
		for e := range appends[a].Events {
			appends[a].Events[e].EventID = idemEventID(meta.Actor.ID(), meta.Idempotency.Key, i)
			i++
		}
	}
}

// original returns the first event recorded by an earlier request with
// meta's idempotency key, or nil. A key used for a different request is
// IDEMPOTENCY_KEY_REUSED.
func (s *Service) original(ctx context.Context, meta Meta) (*eventstore.Recorded, error) {
	if meta.Idempotency == nil {
		return nil, nil
	}
	rec, err := s.log.ReadEvent(ctx, idemEventID(meta.Actor.ID(), meta.Idempotency.Key, 0))
	if err != nil || rec == nil {
		return nil, storeError(err)
	}
	return rec, sameRequest(*rec, meta)
}

// ownEvent returns the event of history recorded by an earlier request
// with meta's idempotency key, or nil.
func ownEvent(history []eventstore.Recorded, meta Meta) (*eventstore.Recorded, error) {
	if meta.Idempotency == nil {
		return nil, nil
	}
	id := idemEventID(meta.Actor.ID(), meta.Idempotency.Key, 0)
	for i := range history {
		if history[i].EventID == id {
			return &history[i], sameRequest(history[i], meta)
		}
	}
	return nil, nil
}

// sameRequest checks that rec was recorded by the request meta describes.
func sameRequest(rec eventstore.Recorded, meta Meta) error {
	var m struct {
		Idempotency *Idempotency `json:"idempotency"`
	}
	if err := json.Unmarshal(rec.Metadata, &m); err != nil || m.Idempotency == nil || m.Idempotency.Request != meta.Idempotency.Request {
		return domain.Errorf(domain.CodeIdempotencyKeyReused, "this Idempotency-Key was used for a different request; use a new key for each request")
	}
	return nil
}

// requestEvents returns every event of the request whose first event is
// first: the events of one append hold consecutive positions.
func (s *Service) requestEvents(ctx context.Context, meta Meta, first eventstore.Recorded) ([]eventstore.Recorded, error) {
	out := []eventstore.Recorded{first}
	for {
		page, err := s.log.ReadAll(ctx, out[len(out)-1].Position, 500)
		if err != nil {
			return nil, storeError(err)
		}
		for _, rec := range page {
			if rec.EventID != idemEventID(meta.Actor.ID(), meta.Idempotency.Key, len(out)) {
				return out, nil
			}
			out = append(out, rec)
		}
		if len(page) < 500 {
			return out, nil
		}
	}
}

// asRecorded rebuilds a session's state as it was right after rec, one of
// its events.
func (s *Service) asRecorded(ctx context.Context, rec eventstore.Recorded) (Session, error) {
	recs, evs, err := s.loadStream(ctx, rec.StreamID)
	if err != nil {
		return Session{}, err
	}
	n := 0
	for n < len(recs) && recs[n].Position <= rec.Position {
		n++
	}
	sess, err := domain.RestoreSession(evs[:n])
	if err != nil {
		return Session{}, err
	}
	if sess == nil {
		return Session{}, domain.Errorf(domain.CodeSessionNotFound, "stream %s holds no session", rec.StreamID)
	}
	return viewOf(sess, rec.RecordedAt), nil
}

// Fingerprint is an idempotent request's fingerprint (Idempotency.Request):
// its method, path and decoded body, the body as canonical JSON so that
// the same JSON with other spacing or member order is the same request.
func Fingerprint(method, path string, body any) (string, error) {
	b, err := json.Marshal(body)
	if err == nil {
		b, err = eventstore.CanonicalJSON(b)
	}
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(method + "\n" + path + "\n"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}
