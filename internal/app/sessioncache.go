package app

import (
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/sessiond/sessiond/domain"
)

// sessionCacheSize bounds the sessions whose state a Service remembers,
// a few hundred bytes each plus their client metadata.
const sessionCacheSize = 100_000

// sessionCache remembers the last state this process saw of recently
// started, revoked or read sessions, so that revoking one can be decided
// without a read. An entry may be stale: another replica, a revoke-all
// or another process may have appended to the stream since. That is safe
// because of what a revocation decision can rest on:
//   - a session's user, start and expiry never change, and a revocation
//     is final, so "another user's" and "already revoked" answers from a
//     cached entry are true whenever they are given;
//   - a new revocation decided from a stale entry is appended with the
//     entry's version, which the stream has passed: the append fails with
//     ErrConflict, the entry is dropped and the decision is taken again
//     from the read model.
//
// A session that is not cached is read from the read model; absence is
// never cached. Start does not use the cache (its answer for an existing
// session shows the session's status, which a stale entry could get
// wrong).
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

// put remembers s (nil: nothing), unless a newer version is cached.
func (c sessionCache) put(s *domain.Session) {
	if s == nil {
		return
	}
	if old, ok := c.lru.Peek(s.ID()); ok && old.Version() > s.Version() {
		return
	}
	c.lru.Add(s.ID(), s)
}

// drop forgets a session whose cached state proved stale.
func (c sessionCache) drop(id string) { c.lru.Remove(id) }
