package verifier

import (
	"encoding/binary"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// set is the revocation set: session id → the last instant the session
// counts as revoked, kept in whole units (a millisecond for the verifier)
// rounded up.
//
// Ids shaped like sessiond's UUIDs (36 characters, lower-case hex, '-' at
// 8, 13, 18 and 23) are kept as their 16 bytes, inline in their slot,
// which a hash of the id's raw text finds: reading the hex digits is
// one-to-one, so the key is exact. (A UUID that cannot be placed within
// maxDist of its home, which only ids sharing its hash could cause, is
// kept among the other ids.) Other ids
// (any other string, upper-case UUIDs included) are kept by a 64-bit hash
// with the exact id beside it, compared on a hash match, so a hash
// collision never answers for the wrong id.
//
// Reads are lock-free and do not allocate (see table); writes (the feed
// and the sweep) take mu.
type set struct {
	uuids atomic.Pointer[table]
	other atomic.Pointer[table]
	hseed maphash.Seed
	unit  int64 // nanoseconds per unit of a stored instant
	// maxUnits is the latest storable instant, in units: it fits the tag
	// word and, in nanoseconds, an int64.
	maxUnits uint64

	mu sync.Mutex // writers
	// ungrown is the last table that growing did not make room in for a
	// UUID (see place); the writer's.
	ungrown *table
	cursor  [2]int // where the next sweep starts, per table

	// forgot is the latest instant of an entry the set dropped (or was
	// never given because it had passed): a session whose instant is at or
	// before it may have been revoked without the set knowing any more.
	forgot atomic.Int64
}

// sweepChunk bounds how many slots one sweep visits per table. Each
// removal is its own write section, so readers wait at most for one.
const sweepChunk = 4096

// newSet returns a set sized for about hint entries (the stream's message
// count at start) that keeps instants in units of unit nanoseconds,
// rounded up: a revocation may last up to one unit longer than asked,
// never shorter. The verifier's unit is a millisecond (instants to the
// year 2109; later ones are kept until then).
func newSet(hint int, unit int64) *set {
	s := &set{hseed: maphash.MakeSeed(), unit: unit, maxUnits: min(maxInstant, math.MaxInt64/uint64(unit))}
	seed := [4]uint64{rand.Uint64(), rand.Uint64(), rand.Uint64(), rand.Uint64()}
	s.uuids.Store(newTable(hint, false, seed))
	s.other.Store(newTable(0, true, [4]uint64{}))
	return s
}

// instantUnit is the verifier's unit for stored instants.
const instantUnit = int64(time.Millisecond)

// units is the stored form of the instant exp (unix nanoseconds).
func (s *set) units(exp int64) uint64 {
	u := exp / s.unit
	if u*s.unit < exp {
		u++
	}
	return min(uint64(max(u, 1)), s.maxUnits)
}

// instant is the unix nanoseconds of a stored instant.
func (s *set) instant(units uint64) int64 { return int64(units) * s.unit }

// parseUUID reads a lower-case UUID-shaped id as two 64-bit halves (the
// UUID's value, first digit most significant). Ids with any other
// character (upper-case hex included) are not UUID-shaped here, so the
// mapping is one-to-one. It decodes eight digits at a time and checks
// them all at once at the end: few instructions and no branch per digit.
// A Check calls it only for a slot whose fingerprint matches.
func parseUUID(id string) (k0, k1 uint64, ok bool) {
	if len(id) != 36 {
		return 0, 0, false
	}
	_ = id[35]
	dashes := uint32(id[8]) | uint32(id[13])<<8 | uint32(id[18])<<16 | uint32(id[23])<<24
	a, badA := nibbles(load64(id[0:8]))
	b, badB := nibbles(uint64(load32(id[9:13])) | uint64(load32(id[14:18]))<<32)
	c, badC := nibbles(uint64(load32(id[19:23])) | uint64(load32(id[24:28]))<<32)
	d, badD := nibbles(load64(id[28:36]))
	if badA|badB|badC|badD != 0 || dashes != 0x2d2d2d2d {
		return 0, 0, false
	}
	return pack(a)<<32 | pack(b), pack(c)<<32 | pack(d), true
}

// load64 and load32 read the first 8 or 4 bytes of s as a little-endian
// word (the compiler makes each one load).
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func load32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// nibbles decodes the 8 bytes of x (first digit lowest) when each is a
// lower-case hex digit, '0'–'9' or 'a'–'f': each byte's value, 0–15; bad
// is non-zero otherwise.
func nibbles(x uint64) (v, bad uint64) {
	// A byte b (below 0x80) is in [lo, hi] when b+0x80-lo keeps its high
	// bit and b+0x80-(hi+1) loses it; no borrow crosses bytes.
	t := x | high
	digit := (t - '0'*ones) &^ (t - ('9'+1)*ones) & high
	letter := (t - 'a'*ones) &^ (t - ('f'+1)*ones) & high
	// The low nibble, plus 9 for a letter.
	return x&(0x0f*ones) + (letter>>7)*9, x&high | ((digit | letter) ^ high)
}

// pack packs the 8 nibbles of v, first digit most significant: pairs of
// digits into bytes, pairs of bytes into 16 bits, then the two halves.
func pack(v uint64) uint64 {
	v = (v<<4 | v>>8) & 0x00ff00ff00ff00ff
	v = (v<<8 | v>>16) & 0x0000ffff0000ffff
	return (v<<16 | v>>32) & 0xffffffff
}

// revoked reports whether id is in the set and still kept at now (now ≤
// its instant).
//
// A UUID-shaped id is looked up by the hash of its raw bytes; it is
// decoded only to compare it with a slot whose fingerprint matches. Only
// when it is not held there and other ids are held is it looked up among
// them too (an upper-case UUID, say, is kept there).
func (s *set) revoked(id string, now int64) bool {
	if len(id) == 36 {
		t := s.uuids.Load()
		if u := t.read(t.rawHash(id), id); u != 0 {
			return now <= s.instant(u)
		}
		if s.other.Load().long.Load() == 0 {
			return false
		}
	}
	t := s.other.Load()
	u := t.read(maphash.String(s.hseed, id), id)
	return u != 0 && now <= s.instant(u)
}

// add records id as revoked until exp (inclusive), keeping the later
// instant if id is known already. It reports whether id was new.
func (s *set) add(id string, exp int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	tag := s.units(exp) << instantShift
	var hashed *entry // id's entry among the other ids, made once
	other := func() entry {
		if hashed == nil {
			h := maphash.String(s.hseed, id)
			hashed = &entry{k0: h, tag: tag, id: &id}
		}
		return *hashed
	}
	if k0, k1, ok := parseUUID(id); ok {
		t := s.uuids.Load()
		u, h := entry{k0: k0, k1: k1, tag: tag}, t.rawHash(id)
		if raise(t, h, u) {
			return false
		}
		if s.other.Load().long.Load() > 0 { // it may have been kept there (below)
			if e := other(); raise(s.other.Load(), e.k0, e) {
				return false
			}
		}
		if s.place(&s.uuids, h, u) {
			return true
		}
		// Kept among the other ids: it did not fit even in a table grown
		// for it (only ids sharing its hash could make that so).
	}
	e := other()
	if raise(s.other.Load(), e.k0, e) {
		return false
	}
	if !s.place(&s.other, e.k0, e) {
		// 256 ids with one 64-bit maphash, under this process's random
		// seed: not a thing that happens. Refusing the revocation instead
		// would let a revoked session through.
		panic("verifier: revocation set: 256 ids share one hash")
	}
	return true
}

// raise keeps the later of e's instant and the one t holds for e's key
// (hash h), and reports whether t holds it. Writer only.
func raise(t *table, h uint64, e entry) bool {
	i := t.find(h, e)
	if i < 0 {
		return false
	}
	if c := t.load(i); e.units() > c.units() {
		t.begin()
		t.slots[i].tag.Store(e.tag&^keyMask | c.tag&keyMask)
		t.end()
	}
	return true
}

// place inserts e, whose key (hash h) ptr's table does not hold, growing
// the table first when it is full, or once more when e would land too far
// from home; it reports false, changing nothing else, if e does not fit
// even then. A table that growing did not help once is not grown for
// that reason again (each try rebuilds it). Writer only.
func (s *set) place(ptr *atomic.Pointer[table], h uint64, e entry) bool {
	t := ptr.Load()
	if n := int(t.n.Load()); float64(n+1) > maxLoad*float64(len(t.slots)) {
		t = t.resized(n + 1)
		ptr.Store(t)
	}
	if !t.fits(h) {
		if t == s.ungrown {
			return false
		}
		grown := t.resized(2 * len(t.slots))
		if !grown.fits(h) {
			s.ungrown = t
			return false
		}
		t = grown
		ptr.Store(t)
	}
	t.begin()
	t.insert(h, e)
	t.end()
	return true
}

// passed reports whether an occupied slot's tag holds an instant before
// now, and which (unix nanoseconds).
func (s *set) passed(tag uint64, now int64) (int64, bool) {
	exp := s.instant(tag >> instantShift)
	return exp, tag != 0 && exp < now
}

// forget raises the forgotten horizon to until.
func (s *set) forget(until int64) {
	for {
		f := s.forgot.Load()
		if until <= f || s.forgot.CompareAndSwap(f, until) {
			return
		}
	}
}

// forgotten returns the forgotten horizon (unix nanoseconds; 0 if nothing
// was dropped).
func (s *set) forgotten() int64 { return s.forgot.Load() }

// len returns the number of revocations held.
func (s *set) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.uuids.Load().n.Load() + s.other.Load().n.Load())
}

// sweep deletes the entries past their instant (exp < now) among the next
// sweepChunk slots of each table, and shrinks a table left mostly empty.
// Repeated sweeps (one a second) cover the whole set; Check never depends
// on them, it compares instants itself.
func (s *set) sweep(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, ptr := range []*atomic.Pointer[table]{&s.uuids, &s.other} {
		t := ptr.Load()
		i := s.cursor[k] % len(t.slots)
		for range min(sweepChunk, len(t.slots)) {
			if exp, passed := s.passed(t.slots[i].tag.Load(), now); passed {
				s.forget(exp) // before the removal, so a reader that misses the entry sees it
				t.begin()
				t.remove(i) // an entry after it may have moved into i: look again
				t.end()
				n++
				continue
			}
			if i++; i == len(t.slots) {
				i = 0
			}
		}
		s.cursor[k] = i
		if len(t.slots) > minSlots && float64(t.n.Load()) < minLoad*float64(len(t.slots)) {
			// Only the live entries move. The passed ones left are those
			// this sweep has not reached yet, whose hashes all lie past
			// the cursor: a table sized for them too would hold them in
			// one run thousands of slots long, and every lookup and
			// removal there would walk it.
			ptr.Store(s.shrunk(t, now, &n))
		}
	}
	return n
}

// shrunk returns a new table holding t's entries whose instant has not
// passed at now, sized for them; each entry left out raises the forgotten
// horizon (and counts in removed) before the new table is returned, so a
// reader that misses one on it sees the horizon raised. Writer only.
func (s *set) shrunk(t *table, now int64, removed *int) *table {
	live := 0
	for i := range t.slots {
		switch exp, passed := s.passed(t.slots[i].tag.Load(), now); {
		case passed:
			s.forget(exp)
			*removed++
		case exp != 0:
			live++
		}
	}
	return t.rebuilt(live, func(u uint64) bool { return s.instant(u) >= now })
}

// formatUUID writes the lower-case text of the UUID (k0, k1) to b: the
// inverse of parseUUID, eight digits at a time (a table rebuild formats
// every entry it moves).
func formatUUID(b *[36]byte, k0, k1 uint64) {
	binary.LittleEndian.PutUint64(b[0:8], hexDigits(k0>>32))
	mid := hexDigits(k0 & 0xffffffff)
	binary.LittleEndian.PutUint32(b[9:13], uint32(mid))
	binary.LittleEndian.PutUint32(b[14:18], uint32(mid>>32))
	mid = hexDigits(k1 >> 32)
	binary.LittleEndian.PutUint32(b[19:23], uint32(mid))
	binary.LittleEndian.PutUint32(b[24:28], uint32(mid>>32))
	binary.LittleEndian.PutUint64(b[28:36], hexDigits(k1&0xffffffff))
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
}

// hexDigits is the eight lower-case hex digits of w (32 bits), first
// digit in the lowest byte: pack undone, then each nibble made a digit.
func hexDigits(w uint64) uint64 {
	w = (w>>16 | w<<32) & 0x0000ffff0000ffff
	w = (w>>8 | w<<16) & 0x00ff00ff00ff00ff
	w = (w>>4 | w<<8) & (0x0f * ones)
	letter := (w + 0x76*ones) >> 7 & ones // 1 in each byte of 10–15
	return w + '0'*ones + letter*('a'-'0'-10)
}
