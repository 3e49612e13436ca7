package verifier

import (
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// filled returns a Verifier holding n revocations of UUID-shaped session
// ids (as sessiond generates), and the ids.
func filled(b *testing.B, n int) (*Verifier, []string) {
	b.Helper()
	v := &Verifier{cfg: defaults(), set: newSet(n)} // as New sizes it from the stream
	now := time.Now()
	v.now.Store(now.UnixNano())
	v.fresh.Store(now.UnixNano())
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		// Sessions expiring over the next day.
		// The set owns its keys, as when they come from decoded messages.
		v.set.add(strings.Clone(ids[i]), now.Add(time.Duration(rand.IntN(86400))*time.Second).UnixNano())
	}
	return v, ids
}

// BenchmarkCheck measures Check against 1,000,000 revocations: for ids
// that are revoked, that are not, and spread at random over the whole set
// (cache misses included). It also reports the memory each entry costs.
func BenchmarkCheck(b *testing.B) {
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v, ids := filled(b, n)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perEntry := float64(after.HeapAlloc-before.HeapAlloc-uint64(n*(16+48))) / n // minus the ids kept for the benchmark (headers and 36-byte strings)
	misses := make([]string, 1024)
	for i := range misses {
		misses[i] = uuid.Must(uuid.NewV7()).String()
	}
	b.Run("revoked", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if v.Check(ids[i&1023]) != ErrRevoked {
				b.Fatal("not revoked")
			}
		}
		b.ReportMetric(perEntry, "bytes/entry")
	})
	b.Run("not-revoked", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if v.Check(misses[i&1023]) != nil {
				b.Fatal("revoked")
			}
		}
	})
	b.Run("random", func(b *testing.B) {
		b.ReportAllocs()
		order := rand.Perm(n)
		for i := 0; b.Loop(); i++ {
			_ = v.Check(ids[order[i%n]])
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(n)
			for pb.Next() {
				_ = v.Check(ids[i&1023])
				i++
			}
		})
	})
	runtime.KeepAlive(ids)
}
