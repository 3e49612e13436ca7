package verifier

import (
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// table is an open-addressed Robin Hood hash table of revocations with
// lock-free readers. Each slot holds its key inline (the 16 bytes of a
// UUID, or for other ids a 64-bit hash with the exact id beside it) and
// its instant, so a lookup costs one cache miss. A large table asks for
// huge pages (adviseHuge), so that miss seldom adds a TLB miss.
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
	seed [2]uint64 // UUID tables: the key's hash seed
	n    int       // entries held; the writer's
}

// slot is one entry: k0, k1 are the UUID's two halves, or the id's hash
// and 0. exp is the last instant (unix nanoseconds) the session counts as
// revoked; 0 marks an empty slot.
type slot struct {
	k0, k1 atomic.Uint64
	exp    atomic.Int64
}

// Load factors: a table is built holding its entries at fillLoad, and
// rebuilt so when it passes maxLoad or falls below minLoad. Between fill
// and max a UUID entry takes 24/0.78 = 30.8 to 24/0.9 = 26.7 bytes. The
// load barely changes a random lookup's cost (its slots, probed forward,
// are adjacent and fetched together after the first miss; see
// BenchmarkCheckLoad), so it is kept high for memory.
const (
	fillLoad = 0.78
	maxLoad  = 0.9
	minLoad  = 0.2
	minSlots = 64
)

func newTable(entries int, hashed bool, seed [2]uint64) *table {
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

// home is the slot a key hashes to (Lemire's multiply-shift range
// reduction, so the table needs no power-of-two size).
func (t *table) home(k0, k1 uint64) int {
	h := k0
	if t.ids == nil {
		hi, lo := bits.Mul64(k0^t.seed[0], k1^t.seed[1])
		h = hi ^ lo
	}
	i, _ := bits.Mul64(h, uint64(len(t.slots)))
	return int(i)
}

// dist is how far slot i is from home h, going forward.
func (t *table) dist(h, i int) int {
	if i >= h {
		return i - h
	}
	return i + len(t.slots) - h
}

// lookup returns the instant of key (k0, k1) — with id its exact id in a
// hashed table — or 0. The caller validates it against seq.
func (t *table) lookup(k0, k1 uint64, id string) int64 {
	i := t.home(k0, k1)
	for d := range len(t.slots) {
		s := &t.slots[i]
		e := s.exp.Load()
		if e == 0 {
			return 0
		}
		a, b := s.k0.Load(), s.k1.Load()
		if a == k0 && b == k1 && (t.ids == nil || t.matches(i, id)) {
			return e
		}
		if t.dist(t.home(a, b), i) < d {
			return 0 // Robin Hood: key would have displaced this entry
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
	return 0
}

func (t *table) matches(i int, id string) bool {
	p := t.ids[i].Load()
	return p != nil && *p == id
}

// entry is a slot's content outside the table.
type entry struct {
	k0, k1 uint64
	exp    int64
	id     *string
}

func (t *table) load(i int) entry {
	s := &t.slots[i]
	e := entry{k0: s.k0.Load(), k1: s.k1.Load(), exp: s.exp.Load()}
	if t.ids != nil {
		e.id = t.ids[i].Load()
	}
	return e
}

func (t *table) store(i int, e entry) {
	s := &t.slots[i]
	s.k0.Store(e.k0)
	s.k1.Store(e.k1)
	s.exp.Store(e.exp)
	if t.ids != nil {
		t.ids[i].Store(e.id)
	}
}

// find returns the slot holding e's key, or -1. Writer only.
func (t *table) find(e entry) int {
	i := t.home(e.k0, e.k1)
	for d := range len(t.slots) {
		c := t.load(i)
		if c.exp == 0 || t.dist(t.home(c.k0, c.k1), i) < d {
			return -1
		}
		if c.k0 == e.k0 && c.k1 == e.k1 && (t.ids == nil || *c.id == *e.id) {
			return i
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
	return -1
}

// insert places e, whose key is not in the table (there is room: the
// set grows the table first). Writer only, inside a write section.
func (t *table) insert(e entry) {
	i := t.home(e.k0, e.k1)
	for d := 0; ; d++ {
		c := t.load(i)
		if c.exp == 0 {
			t.store(i, e)
			t.n++
			return
		}
		if cd := t.dist(t.home(c.k0, c.k1), i); cd < d {
			t.store(i, e) // the richer entry moves on
			e, d = c, cd
		}
		if i++; i == len(t.slots) {
			i = 0
		}
	}
}

// shrunk returns a new table holding t's entries whose instant has not
// passed at now (exp >= now), sized for them; dropped is called with the
// instant of each entry left out, before the new table is returned (so a
// reader that misses one on it sees the set's horizon raised). Writer
// only; t itself is left as it was, for readers still on it.
func (t *table) shrunk(now int64, dropped func(exp int64)) *table {
	live := 0
	for i := range t.slots {
		if e := t.slots[i].exp.Load(); e != 0 && e >= now {
			live++
		}
	}
	nt := newTable(live, t.ids != nil, t.seed)
	for i := range t.slots {
		switch e := t.load(i); {
		case e.exp == 0:
		case e.exp < now:
			dropped(e.exp)
		default:
			nt.insert(e)
		}
	}
	return nt
}

// remove empties slot i, shifting the entries after it back. Writer only,
// inside a write section.
func (t *table) remove(i int) {
	for {
		j := i + 1
		if j == len(t.slots) {
			j = 0
		}
		c := t.load(j)
		if c.exp == 0 || t.home(c.k0, c.k1) == j {
			break
		}
		t.store(i, c)
		i = j
	}
	t.store(i, entry{})
	t.n--
}

// begin and end bracket a write section.
func (t *table) begin() { t.seq.Add(1) }
func (t *table) end()   { t.seq.Add(1) }

// resized returns a new table holding t's entries, sized for entries.
// Writer only; t itself is left as it was, for readers still on it.
func (t *table) resized(entries int) *table {
	nt := newTable(entries, t.ids != nil, t.seed)
	for i := range t.slots {
		if e := t.load(i); e.exp != 0 {
			nt.insert(e)
		}
	}
	return nt
}
