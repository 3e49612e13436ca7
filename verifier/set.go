package verifier

import "sync"

// set is the revocation set: session id → expiry (unix nanoseconds).
// Reads take a shared lock and do not allocate.
//
// At 1,000,000 UUID-shaped ids an entry costs about 104 bytes (the map slot
// and the 36-byte id in a 48-byte allocation). Decoding UUIDs to 16-byte
// keys measured about 56 bytes an entry but doubled Check's cost (~50 ns
// against ~23 ns); Check's speed won.
type set struct {
	mu sync.RWMutex
	m  map[string]int64
}

// sweepChunk bounds how many entries one sweep visits (and so how long it
// holds the write lock: tens of microseconds).
const sweepChunk = 4096

// newSet returns a set sized for about hint entries (the stream's message
// count at start).
func newSet(hint int) *set { return &set{m: make(map[string]int64, hint)} }

// revoked reports whether id is in the set and not expired at now.
func (s *set) revoked(id string, now int64) bool {
	s.mu.RLock()
	exp, ok := s.m[id]
	s.mu.RUnlock()
	return ok && now < exp
}

// add records id as revoked until exp, keeping the later expiry if id is
// known already. It reports whether id was new.
func (s *set) add(id string, exp int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, seen := s.m[id]
	if !seen || exp > old {
		s.m[id] = exp
	}
	return !seen
}

func (s *set) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// sweep deletes the expired entries among at most sweepChunk entries. Map
// iteration starts at a random place, so repeated sweeps (one a second)
// cover the whole set; Check never depends on them, it compares expiries
// itself.
func (s *set) sweep(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, seen := 0, 0
	for k, exp := range s.m {
		if exp <= now {
			delete(s.m, k)
			n++
		}
		if seen++; seen == sweepChunk {
			break
		}
	}
	return n
}
