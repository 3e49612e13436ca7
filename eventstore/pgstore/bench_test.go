package pgstore_test

import (
	"sync/atomic"
	"testing"

	"github.com/sessiond/sessiond/internal/storetest"
)

// BenchmarkAppend: compare appends/s with scripts/pgbench.sh on the same
// server.
func BenchmarkAppend(b *testing.B) {
	storetest.BenchmarkAppend(b, func(b *testing.B) (storetest.Store, *atomic.Int64) {
		_, store, commits := mustOpenStore(b)
		return store, commits
	})
}
