package verifier

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// newIDs returns n fresh UUID-shaped session ids (as sessiond generates),
// laid out back to back in one string, so that walking them in order costs
// what reading an id from a request does: no cache miss of its own.
func newIDs(n int) []string {
	var all strings.Builder
	all.Grow(36 * n)
	for range n {
		all.WriteString(uuid.Must(uuid.NewV7()).String())
	}
	return newLayout(all.String(), n)
}

// shuffled returns ids in a random order, copied back to back as newIDs
// lays them out.
func shuffled(ids []string) []string {
	var all strings.Builder
	all.Grow(36 * len(ids))
	for _, i := range rand.Perm(len(ids)) {
		all.WriteString(ids[i])
	}
	return newLayout(all.String(), len(ids))
}

// newLayout cuts s into n ids of 36 bytes.
func newLayout(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s[36*i : 36*i+36]
	}
	return out
}

// filled returns a Verifier holding a revocation for each id, and the
// heap bytes the set takes per entry. sized sizes the set as New does
// from the stream's message count; otherwise it grows from empty, as
// when revocations arrive after the start.
func filled(b *testing.B, ids []string, sized bool) (*Verifier, float64) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	hint := 0
	if sized {
		hint = len(ids)
	}
	v := &Verifier{cfg: defaults(), set: newSet(hint, instantUnit)}
	now := time.Now()
	v.now.Store(now.UnixNano())
	v.fresh.Store(now.UnixNano())
	for _, id := range ids {
		// Sessions expiring over the next day. The set owns its keys, as
		// when they come from decoded messages.
		v.set.add(strings.Clone(id), now.Add(time.Duration(rand.IntN(86400))*time.Second).UnixNano())
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	return v, float64(after.HeapAlloc-before.HeapAlloc) / float64(len(ids))
}

// BenchmarkCheck measures Check against 1,000,000 revocations.
//   - hot-*: 1,024 ids over and over (they stay in cache);
//   - random-*: each id once, in a random order over the whole set, so
//     every lookup pays the set's cache misses. The ids to check are
//     pre-built and walked in order, so the walk itself costs what
//     random-walk (the same loop without Check) reports: subtract it.
//     random-miss is the latency of one dependent cache miss on this
//     machine (independent Checks, as here, can overlap theirs);
//     random-miss-huge is the same over memory backed by huge pages, as
//     the table asks for.
//   - parallel: random-revoked on every core (GOMAXPROCS goroutines);
//     parallel-hot: hot-revoked so, where a write shared by the cores
//     (a contended cache line) would show most.
//
// bytes/entry is the set's heap per revocation held, sized from the
// stream at start (grown-bytes/entry: grown from empty instead); huge-% the share of
// the memory read that huge pages back (root only, see hugeShare); cpu-ns/op is the CPU
// time per Check over all cores (see cpuClock): on a loaded machine it is
// the figure to compare, and in parallel it stays flat as cores are added
// only if Checks do not contend.
func BenchmarkCheck(b *testing.B) {
	const n = 1_000_000
	ids := newIDs(n)
	_, grownPerEntry := filled(b, ids, false)
	v, perEntry := filled(b, ids, true)
	revoked, clean := shuffled(ids), newIDs(n)
	b.Run("hot-revoked", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		for i := 0; b.Loop(); i++ {
			if v.Check(revoked[i&1023]) != ErrRevoked {
				b.Fatal("not revoked")
			}
		}
		clock.report(b)
		b.ReportMetric(perEntry, "bytes/entry")
		b.ReportMetric(grownPerEntry, "grown-bytes/entry")
	})
	b.Run("hot-clean", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		for i := 0; b.Loop(); i++ {
			if v.Check(clean[i&1023]) != nil {
				b.Fatal("revoked")
			}
		}
		clock.report(b)
	})
	b.Run("random-walk", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		var sum byte
		for i := 0; b.Loop(); i++ {
			sum += revoked[i%n][35]
		}
		runtime.KeepAlive(sum)
		clock.report(b)
	})
	b.Run("random-miss", func(b *testing.B) { missChain(b, false) })
	b.Run("random-miss-huge", func(b *testing.B) { missChain(b, true) })
	b.Run("random-revoked", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		for i := 0; b.Loop(); i++ {
			if v.Check(revoked[i%n]) != ErrRevoked {
				b.Fatal("not revoked")
			}
		}
		clock.report(b)
		t := v.set.uuids.Load()
		reportHuge(b, unsafe.Pointer(&t.slots[0]), uintptr(len(t.slots))*unsafe.Sizeof(slot{}))
	})
	b.Run("random-clean", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		for i := 0; b.Loop(); i++ {
			if v.Check(clean[i%n]) != nil {
				b.Fatal("revoked")
			}
		}
		clock.report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(n)
			for pb.Next() {
				if v.Check(revoked[i%n]) != ErrRevoked {
					b.Error("not revoked")
					return
				}
				i++
			}
		})
		clock.report(b)
	})
	b.Run("parallel-hot", func(b *testing.B) {
		b.ReportAllocs()
		clock := startCPU()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(n)
			for pb.Next() {
				if v.Check(revoked[i&1023]) != ErrRevoked {
					b.Error("not revoked")
					return
				}
				i++
			}
		})
		clock.report(b)
	})
	runtime.KeepAlive(ids)
}

// missChain measures one dependent cache miss: each iteration reads a
// random 4-byte word of 32 MB (about the set's size) whose address the
// previous read gave, so misses cannot overlap (a Check needs its slot
// before it can answer). huge backs the 32 MB with huge pages as the
// table's, otherwise small pages are asked for.
func missChain(b *testing.B, huge bool) {
	next := make([]uint32, 8<<20)
	p, size := unsafe.Pointer(&next[0]), uintptr(len(next))*4
	if huge {
		adviseHuge(p, size)
	} else {
		adviseSmall(p, size)
	}
	perm := rand.Perm(len(next))
	for i := range perm {
		next[perm[i]] = uint32(perm[(i+1)%len(perm)])
	}
	b.ReportAllocs()
	clock := startCPU()
	at := uint32(0)
	for b.Loop() {
		at = next[at]
	}
	runtime.KeepAlive(at)
	clock.report(b)
	reportHuge(b, p, size)
}

// reportHuge reports huge-%, the share of the n bytes at p that huge
// pages back, where the machine lets the benchmark see it.
func reportHuge(b *testing.B, p unsafe.Pointer, n uintptr) {
	if share, ok := hugeShare(p, n); ok {
		b.ReportMetric(100*share, "huge-%")
	}
}

// BenchmarkCheckLoad measures a random lookup in 1,000,000 revocations
// with the table filled to a given load: more load means longer probes,
// over adjacent slots. revoked and clean are as BenchmarkCheck's
// random-*; hot is one lookup of 1,024 ids over and over, the probing's
// own cost.
func BenchmarkCheckLoad(b *testing.B) {
	const n = 1_000_000
	ids := newIDs(n)
	revoked, clean := shuffled(ids), newIDs(n)
	for _, load := range []float64{0.65, fillLoad, maxLoad} {
		s := newSet(0, 1)
		t := newTable(int(float64(n)/load*fillLoad), false, s.uuids.Load().seed)
		for _, id := range ids {
			k0, k1, _ := parseUUID(id)
			if h := t.rawHash(id); !t.fits(h) {
				b.Fatalf("%s does not fit at load %.2f", id, load)
			} else {
				t.insert(h, entry{k0: k0, k1: k1, tag: 1 << instantShift})
			}
		}
		s.uuids.Store(t)
		for _, c := range []struct {
			name string
			ids  []string
			mask int
			want bool
		}{{"revoked", revoked, n, true}, {"clean", clean, n, false}, {"hot", revoked, 1024, true}} {
			b.Run(fmt.Sprintf("load-%.2f/%s", float64(t.n.Load())/float64(len(t.slots)), c.name), func(b *testing.B) {
				b.ReportAllocs()
				clock := startCPU()
				for i := 0; b.Loop(); i++ {
					if s.revoked(c.ids[i%c.mask], 0) != c.want {
						b.Fatal("wrong answer")
					}
				}
				clock.report(b)
			})
		}
	}
}
