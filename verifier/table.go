package verifier

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// table is an open-addressed Robin Hood hash table of revocations with
// lock-free readers. Each slot holds its key inline (the 16 bytes of a
// UUID, or for other ids a 64-bit hash with the exact id beside it) and a
// tag word: the instant, a fingerprint of the key's hash and the slot's
// distance from the key's home. A large table asks for huge pages
// (adviseHuge), so its one cache miss per lookup seldom adds a TLB miss.
//
// A UUID's home and fingerprint come from a hash of the id's raw bytes
// (rawHash), not of its decoded value: a lookup finds its slot without
// decoding the id, and decodes it only to compare exactly against a slot
// whose fingerprint and distance match. A clean id is almost always
// answered from the tag words alone, without decoding (a fingerprint
// matches by chance once in 16,384 slots probed).
//
// One writer at a time (the set's mutex) changes slots between two
// increments of seq; readers retry a lookup that overlapped a change
// (a sequence lock). Readers write no shared memory, so Check scales
// with cores. A table never changes once it has been replaced by a
// larger or smaller one.
type table struct {
	seq   atomic.Uint64 // odd while a writer changes slots
	slots []slot
	// ids holds, for a table of hashed ids, the exact id of each slot
	// (moved with it); nil for UUIDs, whose slot is the key itself.
	ids  []atomic.Pointer[string]
	seed [4]uint64    // UUID tables: rawHash's seed
	n    atomic.Int64 // entries held; written by the writer only
	// long counts, in a table of hashed ids, those 36 bytes long: a
	// UUID-shaped id is looked for here only while there are some.
	long atomic.Int64
}

// slot is one entry: k0, k1 are the UUID's two halves, or the id's hash
// and 0; tag packs the instant (in the set's units), the fingerprint and
// the distance from home (see the tag constants); 0 marks an empty slot.
type slot struct {
	k0, k1 atomic.Uint64
	tag    atomic.Uint64
}

// The tag word: bits 0–7 the distance from home, 8–21 the fingerprint
// (the key hash's low bits; the home comes from its high ones), 22–63 the
// instant (in the set's units), at least 1 in an occupied slot. An entry
// is never placed further than maxDist from home: the set grows the table
// first, or keeps a UUID that still would be among the other ids.
const (
	distBits     = 8
	fpBits       = 14
	maxDist      = 1<<distBits - 1
	instantShift = distBits + fpBits
	keyMask      = 1<<instantShift - 1 // fingerprint and distance
	fpMask       = 1<<fpBits - 1
	maxInstant   = 1<<(64-instantShift) - 1
)

// Load factors: a table is built holding its entries at fillLoad, and
// rebuilt so when it passes maxLoad or falls below minLoad. Between fill
// and max a UUID entry takes 24/0.78 = 30.8 to 24/0.9 = 26.7 bytes. A
// held id's lookup costs about the same at any of these loads (its slots
// are adjacent and fetched with the first); a clean id's gets slower as
// the table fills, its longer probe ending where the branch predictor
// cannot guess (see BenchmarkCheckLoad). The load is kept high for memory.
const (
	fillLoad = 0.78
	maxLoad  = 0.9
	minLoad  = 0.2
	minSlots = 64
)

func newTable(entries int, hashed bool, seed [4]uint64) *table {
	n := max(int(float64(entries)/fillLoad)+1, minSlots)
	t := &table{slots: make([]slot, n), seed: seed}
	if size := uintptr(n) * unsafe.Sizeof(slot{}); size >= hugePage {
		adviseHuge(unsafe.Pointer(&t.slots[0]), size)
	}
	if hashed {
		t.ids = make([]atomic.Pointer[string], n)
	}
	return t
}

// rawHash hashes a 36-byte id from its raw bytes, as a few multiplies of
// its words with the table's seed (the folded 128-bit product, as
// wyhash's), so that a lookup's address waits for little work.
func (t *table) rawHash(id string) uint64 {
	_ = id[35]
	a, b, c, d := load64(id[0:8]), load64(id[8:16]), load64(id[16:24]), load64(id[24:32])
	return fold(fold(a^t.seed[0], b^t.seed[1])^uint64(load32(id[32:36])), fold(c^t.seed[2], d^t.seed[3]))
}

// fold is the 128-bit product of x and y, its halves xored.
func fold(x, y uint64) uint64 {
	hi, lo := bits.Mul64(x, y)
	return hi ^ lo
}

// home is the slot a key hash h belongs in (Lemire's multiply-shift range
// reduction of its high bits, so the table needs no power-of-two size).
func (t *table) home(h uint64) int {
	i, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(i)
}

// probe is the tag, instant aside, that h's entry has d slots past home.
func probe(h uint64, d int) uint64 { return (h&fpMask)<<distBits | uint64(d) }

// lookup returns the instant held for id, whose key hash is h, or 0. The
// caller validates it against seq.
func (t *table) lookup(h uint64, id string) uint64 {
	i := t.home(h)
	for d := range maxDist + 1 {
		s := &t.slots[i]
		g := s.tag.Load()
		if g == 0 || int(g&maxDist) < d {
			return 0 // empty, or Robin Hood: the key would have displaced this entry
		}
		if g&keyMask == probe(h, d) && t.holds(s, i, h, id) {
			return g >> instantShift
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
	return 0
}

// read is lookup under the sequence lock.
func (t *table) read(h uint64, id string) uint64 {
	for {
		seq := t.seq.Load()
		if seq&1 == 0 {
			u := t.lookup(h, id)
			if t.seq.Load() == seq {
				return u
			}
		}
		runtime.Gosched() // a writer is in this table: a removal or an insert
	}
}

// holds reports whether slot s (at i) is id's, exactly.
func (t *table) holds(s *slot, i int, h uint64, id string) bool {
	if t.ids != nil {
		p := t.ids[i].Load()
		return s.k0.Load() == h && p != nil && *p == id
	}
	k0, k1, ok := parseUUID(id)
	return ok && s.k0.Load() == k0 && s.k1.Load() == k1
}

// entry is a slot's content outside the table.
type entry struct {
	k0, k1, tag uint64
	id          *string
}

// units is the entry's instant, in the set's units.
func (e entry) units() uint64 { return e.tag >> instantShift }

// dist is how far the entry lies past its home.
func (e entry) dist() int { return int(e.tag & maxDist) }

// load returns slot i's content.
func (t *table) load(i int) entry {
	s := &t.slots[i]
	e := entry{k0: s.k0.Load(), k1: s.k1.Load(), tag: s.tag.Load()}
	if t.ids != nil {
		e.id = t.ids[i].Load()
	}
	return e
}

// store sets slot i's content. Writer only, inside a write section (or
// on a table not yet published).
func (t *table) store(i int, e entry) {
	s := &t.slots[i]
	s.k0.Store(e.k0)
	s.k1.Store(e.k1)
	s.tag.Store(e.tag)
	if t.ids != nil {
		t.ids[i].Store(e.id)
	}
}

// hashOf returns the key hash of a held entry: for a UUID, rawHash of
// its text, written out again. Writer only.
func (t *table) hashOf(e entry) uint64 {
	if t.ids != nil {
		return e.k0
	}
	var text [36]byte
	formatUUID(&text, e.k0, e.k1)
	return t.rawHash(unsafe.String(&text[0], len(text)))
}

// find returns the slot holding the key of e, whose hash is h, or -1.
// Writer only.
func (t *table) find(h uint64, e entry) int {
	i := t.home(h)
	for d := range maxDist + 1 {
		c := t.load(i)
		if c.tag == 0 || c.dist() < d {
			return -1
		}
		if c.tag&keyMask == probe(h, d) && c.k0 == e.k0 && c.k1 == e.k1 && (t.ids == nil || *c.id == *e.id) {
			return i
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
	return -1
}

// fits reports whether an entry with hash h can be inserted with no
// entry ending up more than maxDist from home. Robin Hood keeps a run
// ordered by home: the entry lands at the first slot whose entry is
// nearer its own home (or is empty), and the entries from there to the
// next empty slot move one slot on. Writer only.
func (t *table) fits(h uint64) bool {
	i, landed := t.home(h), false
	for d := range len(t.slots) {
		c := t.load(i)
		switch {
		case c.tag == 0:
			return true
		case landed || c.dist() < d:
			if landed = true; c.dist() == maxDist {
				return false
			}
		case d == maxDist:
			return false
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
	return false
}

// insert places e (its tag's instant; fingerprint and distance are set
// here), whose key hashes to h and is not in the table; the caller has
// checked that it fits. Writer only, inside a write section.
func (t *table) insert(h uint64, e entry) {
	i := t.home(h)
	e.tag = e.tag&^keyMask | probe(h, 0)
	for d := 0; ; d++ {
		c := t.load(i)
		if c.tag == 0 {
			t.store(i, withDist(e, d))
			t.count(e, 1)
			return
		}
		if cd := c.dist(); cd < d {
			t.store(i, withDist(e, d)) // the richer entry moves on
			e, d = c, cd
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// withDist returns e with its distance from home set to d (at most
// maxDist: fits has checked).
func withDist(e entry, d int) entry {
	e.tag = e.tag&^maxDist | uint64(d)
	return e
}

// rebuilt returns a new table holding t's entries whose instant keep
// reports true for, sized for entries of them (more, should one not fit).
// Writer only; t itself is left as it was, for readers still on it.
func (t *table) rebuilt(entries int, keep func(instant uint64) bool) *table {
	for size := entries; ; size *= 2 {
		if nt := newTable(size, t.ids != nil, t.seed); nt.fill(t, keep) {
			return nt
		}
	}
}

// fill inserts into nt the entries of t that keep reports true for, and
// reports whether they all fit.
func (nt *table) fill(t *table, keep func(uint64) bool) bool {
	for i := range t.slots {
		if e := t.load(i); e.tag != 0 && keep(e.units()) {
			h := t.hashOf(e)
			if !nt.fits(h) {
				return false
			}
			nt.insert(h, e)
		}
	}
	return true
}

// resized returns a new table holding all of t's entries, sized for
// entries. Writer only.
func (t *table) resized(entries int) *table {
	return t.rebuilt(entries, func(uint64) bool { return true })
}

// remove empties slot i, shifting the entries after it back. Writer only,
// inside a write section.
func (t *table) remove(i int) {
	gone := t.load(i)
	for {
		j := i + 1
		if j == len(t.slots) {
			j = 0
		}
		c := t.load(j)
		if c.tag == 0 || c.dist() == 0 {
			break
		}
		t.store(i, withDist(c, c.dist()-1))
		i = j
	}
	t.store(i, entry{})
	t.count(gone, -1)
}

// count adds by to the entries held, and to long if e's id is 36 bytes.
func (t *table) count(e entry, by int64) {
	t.n.Add(by)
	if e.id != nil && len(*e.id) == 36 {
		t.long.Add(by)
	}
}

// begin and end bracket a write section.
func (t *table) begin() { t.seq.Add(1) }
func (t *table) end()   { t.seq.Add(1) }
