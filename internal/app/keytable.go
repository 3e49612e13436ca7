package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Defaults of a KeyTable.
const (
	// DefaultKeyBound is how long a key table may go without confirming
	// that it holds every key event of the log before it refuses to
	// authenticate (and the server is not ready): the worst-case delay
	// before a key revoked anywhere is refused here.
	DefaultKeyBound = 5 * time.Second
	// DefaultKeyPoll is how often a key table reads new key events when
	// nothing wakes it earlier.
	DefaultKeyPoll = 500 * time.Millisecond
)

// keyEventTypes are the events the key table is built from.
var keyEventTypes = []string{domain.TypeAdminKeyCreated, domain.TypeAdminKeyRevoked}

// KeyFeed is where a KeyTable reads admin-key events: the log itself,
// never the admin_keys read model. Both stores implement it.
type KeyFeed interface {
	ReadTypes(ctx context.Context, after int64, types []string, limit int) ([]eventstore.Recorded, error)
}

// KeyTable is the in-memory table of admin keys that authentication
// reads: built from the log's AdminKeyCreated and AdminKeyRevoked events
// and kept current by Follow, so a row in admin_keys that no event stands
// behind authenticates nothing, and a request costs no database round
// trip. Lookups read an immutable snapshot through one atomic load.
type KeyTable struct {
	feed  KeyFeed
	bound time.Duration
	log   *slog.Logger
	base  time.Time // monotonic origin of the confirmed stamps

	snap      atomic.Pointer[keySnapshot]
	confirmed atomic.Int64 // start of the last complete sync, ns since base; 0: never

	syncMu sync.Mutex // one sync at a time
	mu     sync.Mutex // serializes snapshot replacements
}

// keySnapshot is one immutable state of the table.
type keySnapshot struct {
	byHash   map[[32]byte]*keyEntry // by SHA-256 of the secret
	byID     map[string]*keyEntry
	byName   map[string]string // key name to the id of the first key created with it
	position int64             // every key event up to here has been read from the feed
}

// keyEntry is one key; entries are replaced, never changed.
type keyEntry struct {
	principal *Principal // nil while only its revocation is known
	hash      [32]byte   // zero while only its revocation is known
	revoked   bool
}

// KeyTableOptions tune a KeyTable.
type KeyTableOptions struct {
	Bound  time.Duration // default DefaultKeyBound
	Logger *slog.Logger  // default slog.Default()
}

// NewKeyTable returns an empty, not yet loaded table over feed. Sync loads
// it; Follow keeps it current.
func NewKeyTable(feed KeyFeed, opts KeyTableOptions) *KeyTable {
	if opts.Bound <= 0 {
		opts.Bound = DefaultKeyBound
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	t := &KeyTable{feed: feed, bound: opts.Bound, log: opts.Logger, base: time.Now()}
	t.snap.Store(&keySnapshot{byHash: map[[32]byte]*keyEntry{}, byID: map[string]*keyEntry{}, byName: map[string]string{}})
	return t
}

// Bound returns the table's staleness bound.
func (t *KeyTable) Bound() time.Duration { return t.bound }

// Ready reports whether the table is loaded and confirmed current within
// its bound.
func (t *KeyTable) Ready(context.Context) error {
	c := t.confirmed.Load()
	switch {
	case c == 0:
		return errors.New("admin keys not loaded from the log yet")
	case time.Since(t.base)-time.Duration(c) > t.bound:
		return fmt.Errorf("admin keys not confirmed current for over %v", t.bound)
	}
	return nil
}

// Owner returns the owner of key id, or "" when it has none or is not
// known.
func (t *KeyTable) Owner(id string) string {
	if e := t.snap.Load().byID[id]; e != nil && e.principal != nil {
		return e.principal.Owner
	}
	return ""
}

// Identify returns the principal of a presented secret whether or not
// the key is revoked (nil for an unknown or malformed one), for recording
// who a refused request claimed to be.
func (t *KeyTable) Identify(presented string) *Principal {
	if !wellFormed(presented) {
		return nil
	}
	if e := t.snap.Load().byHash[sha256.Sum256([]byte(presented))]; e != nil {
		return e.principal
	}
	return nil
}

// keyState is what a lookup found.
type keyState int

const (
	keyUnknown keyState = iota
	keyActive
	keyRevoked
)

// lookup finds the key whose secret hashes to hash. It fails with
// UNAVAILABLE while the table is not Ready.
func (t *KeyTable) lookup(hash [32]byte) (*Principal, keyState, error) {
	if err := t.Ready(context.Background()); err != nil {
		return nil, keyUnknown, domain.Errorf(domain.CodeUnavailable, "admin keys cannot be checked: %v; retry later", err)
	}
	e := t.snap.Load().byHash[hash]
	switch {
	case e == nil || e.principal == nil:
		return nil, keyUnknown, nil
	case e.revoked:
		return nil, keyRevoked, nil
	}
	return e.principal, keyActive, nil
}

// Sync reads every key event recorded since the last sync and applies it.
// When it returns nil, the table holds every key event committed before
// Sync was called.
func (t *KeyTable) Sync(ctx context.Context) error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	return t.sync(ctx)
}

// refresh makes sure the table holds every key event committed before
// since: it returns at once if a sync that started after since has
// completed, and otherwise syncs. Concurrent callers share syncs.
func (t *KeyTable) refresh(ctx context.Context, since time.Time) error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	if time.Duration(t.confirmed.Load()) > since.Sub(t.base) {
		return nil
	}
	return t.sync(ctx)
}

// sync runs with syncMu held.
func (t *KeyTable) sync(ctx context.Context) error {
	start := time.Since(t.base)
	if start <= 0 {
		start = 1
	}
	const page = 1000
	for {
		after := t.snap.Load().position
		recs, err := t.feed.ReadTypes(ctx, after, keyEventTypes, page)
		if err != nil {
			return fmt.Errorf("admin key events after %d: %w", after, err)
		}
		t.apply(recs, true)
		if len(recs) < page {
			break
		}
	}
	t.confirmed.Store(int64(start))
	return nil
}

// apply folds key events into a new snapshot. fromFeed advances the
// feed position; a server's own appends (applied at once, for
// read-your-writes) do not, and are read again later, harmlessly: entries
// only ever move from unknown to created and from active to revoked, so
// applying events twice or out of order gives the same table.
func (t *KeyTable) apply(recs []eventstore.Recorded, fromFeed bool) {
	if len(recs) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.snap.Load()
	next := &keySnapshot{byHash: maps.Clone(old.byHash), byID: maps.Clone(old.byID), byName: maps.Clone(old.byName), position: old.position}
	for i := range recs {
		r := &recs[i]
		if fromFeed && r.Position > next.position {
			next.position = r.Position
		}
		if r.Type != domain.TypeAdminKeyCreated && r.Type != domain.TypeAdminKeyRevoked {
			continue
		}
		ev, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil { // authenticates nothing; audit verify reports it
			t.log.Error("undecodable admin key event ignored", "position", r.Position, "err", err)
			continue
		}
		switch e := ev.(type) {
		case domain.AdminKeyCreated:
			next.created(e, t.log)
		case domain.AdminKeyRevoked:
			next.revoked(e.KeyID)
		}
	}
	t.snap.Store(next)
}

func (s *keySnapshot) created(e domain.AdminKeyCreated, log *slog.Logger) {
	cur := s.byID[e.KeyID]
	if cur != nil && cur.principal != nil {
		return // already applied
	}
	var hash [32]byte
	if n, err := hex.Decode(hash[:], []byte(e.KeyHash)); err != nil || n != len(hash) {
		log.Error("admin key event with a malformed hash ignored", "keyId", e.KeyID)
		return
	}
	if other := s.byHash[hash]; other != nil && other.principal != nil {
		log.Warn("admin key event reuses another key's hash; ignored", "keyId", e.KeyID, "otherKeyId", other.principal.KeyID)
		return
	}
	if _, ok := s.byName[e.Name]; !ok {
		s.byName[e.Name] = e.KeyID
	}
	n := &keyEntry{principal: &Principal{KeyID: e.KeyID, Name: e.Name, Owner: e.Owner, Scopes: e.Scopes}, hash: hash}
	n.revoked = cur != nil && cur.revoked
	s.byID[e.KeyID] = n
	s.byHash[hash] = n
}

func (s *keySnapshot) revoked(keyID string) {
	cur := s.byID[keyID]
	if cur != nil && cur.revoked {
		return
	}
	n := &keyEntry{revoked: true}
	if cur != nil {
		n.principal, n.hash = cur.principal, cur.hash
	}
	s.byID[keyID] = n
	if n.principal != nil {
		s.byHash[n.hash] = n
	}
}

// Follow keeps the table current until ctx ends: it syncs whenever wake
// delivers (a LISTEN notification) and at least every poll. Failures are
// logged once and retried; after Bound without a complete sync, lookups
// fail with UNAVAILABLE.
func (t *KeyTable) Follow(ctx context.Context, wake <-chan struct{}, poll time.Duration) {
	if poll <= 0 {
		poll = DefaultKeyPoll
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	failing := false
	for {
		err := t.Sync(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			t.log.ErrorContext(ctx, "admin key table cannot follow the log; it refuses keys once stale", "bound", t.bound, "err", err)
			failing = true
		case err == nil && failing:
			t.log.InfoContext(ctx, "admin key table follows the log again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}
