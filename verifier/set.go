package verifier

import "sync"

// set is the revocation set: session id → the last instant (unix
// nanoseconds) the session counts as revoked.
// Reads take a shared lock and do not allocate.
//
// Ids shaped like UUIDs (36 characters with '-' at 8, 13, 18 and 23, as
// sessiond generates them) are kept in their own map without the four
// dashes: removing characters at fixed places is one-to-one, and the
// 32-byte key fits a 32-byte allocation instead of a 48-byte one. Other ids
// are kept as given.
type set struct {
	mu    sync.RWMutex
	uuids map[string]int64
	other map[string]int64
}

// sweepChunk bounds how many entries one sweep visits (and so how long it
// holds the write lock: tens of microseconds).
const sweepChunk = 4096

// newSet returns a set sized for about hint entries (the stream's message
// count at start).
func newSet(hint int) *set {
	return &set{uuids: make(map[string]int64, hint), other: make(map[string]int64)}
}

// compact writes a UUID-shaped id without its dashes into buf.
func compact(id string, buf *[32]byte) bool {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return false
	}
	copy(buf[0:8], id[0:8])
	copy(buf[8:12], id[9:13])
	copy(buf[12:16], id[14:18])
	copy(buf[16:20], id[19:23])
	copy(buf[20:32], id[24:36])
	return true
}

// revoked reports whether id is in the set and still kept at now (now ≤
// its instant).
func (s *set) revoked(id string, now int64) bool {
	var (
		buf [32]byte
		exp int64
		ok  bool
	)
	if compact(id, &buf) {
		s.mu.RLock()
		exp, ok = s.uuids[string(buf[:])] // no allocation: a map index
		s.mu.RUnlock()
	} else {
		s.mu.RLock()
		exp, ok = s.other[id]
		s.mu.RUnlock()
	}
	return ok && now <= exp
}

// add records id as revoked until exp (inclusive), keeping the later
// instant if id is known already. It reports whether id was new.
func (s *set) add(id string, exp int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf [32]byte
	if compact(id, &buf) {
		return put(s.uuids, string(buf[:]), exp)
	}
	return put(s.other, id, exp)
}

func put(m map[string]int64, k string, exp int64) bool {
	old, seen := m[k]
	if !seen || exp > old {
		m[k] = exp
	}
	return !seen
}

func (s *set) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.uuids) + len(s.other)
}

// sweep deletes the entries past their instant (exp < now) among at most sweepChunk entries of
// each map. Map iteration starts at a random place, so repeated sweeps (one
// a second) cover the whole set; Check never depends on them, it compares
// expiries itself.
func (s *set) sweep(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sweepMap(s.uuids, now) + sweepMap(s.other, now)
}

func sweepMap(m map[string]int64, now int64) int {
	n, seen := 0, 0
	for k, exp := range m {
		if exp < now {
			delete(m, k)
			n++
		}
		if seen++; seen == sweepChunk {
			break
		}
	}
	return n
}
