package app

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sessiond/sessiond/domain"
)

// The cache's bounds: sessions remembered, and the client metadata a
// remembered session may carry (up to domain.MaxMetadataBytes is
// allowed; larger ones are read when revoked). Some 300 bytes an entry
// plus its metadata: 15 MB for 50,000 sessions without metadata, 65 MB
// at most.
const (
	sessionCacheSize     = 50_000
	sessionCacheMetadata = 1024
)

// sessionCache remembers the sessions this process started, so that
// revoking one can be decided without reading the read model first. An
// entry may be stale: another replica, a revoke-all or another process
// may have appended to the stream since. That is safe because a cached
// state is only used to decide a new revocation, and the revocation is
// appended with the entry's version: if the stream has passed it, the
// append fails with ErrConflict before anything is written, the entry is
// dropped and the decision is taken again from the read model. Every
// other answer (already revoked, not found, another user's) is taken
// from the read model, and a revoked session leaves the cache.
//
// Without the read, the append is the command's first contact with the
// database; the store looks at a pooled connection before writing on it
// (pgstore's acquireLive), so a database that has just gone still answers
// UNAVAILABLE ("nothing was recorded"), not OUTCOME_UNKNOWN.
type sessionCache struct {
	lru *lru.Cache[string, *domain.Session]
}

func newSessionCache() sessionCache {
	c, err := lru.New[string, *domain.Session](sessionCacheSize)
	if err != nil {
		panic(err) // only for a size ≤ 0
	}
	return sessionCache{lru: c}
}

// get returns the cached state of a session, or nil.
func (c sessionCache) get(id string) *domain.Session {
	s, _ := c.lru.Get(id)
	return s
}

// put remembers a session this process has just started, unless its
// metadata is large.
func (c sessionCache) put(s *domain.Session) {
	if len(s.Metadata()) <= sessionCacheMetadata {
		c.lru.Add(s.ID(), s)
	}
}

// drop forgets a session whose cached state proved stale, or that is
// revoked.
func (c sessionCache) drop(id string) { c.lru.Remove(id) }
