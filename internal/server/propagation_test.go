package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/verifier"
)

// BenchmarkPropagation measures, at 200 revocations a second, the time from
// a DELETE's 200 response to the moment a verifier (on its own NATS
// connection) applies the revocation, after which Check answers ErrRevoked.
// A revocation applied before the response arrived counts as 0. Run it
// with -benchtime 1000x (one revocation per iteration, 5 ms apart).
func BenchmarkPropagation(b *testing.B) {
	ns := natstest.Start(b)
	pool, dbURL := pgtest.NewPool(b)
	s := startServerOn(b, pool, dbURL, "NATS_URL", ns.URL())
	key := s.key("ops")
	var (
		mu      sync.Mutex
		applied = map[string]time.Time{}
	)
	v := newVerifier(b, ns.URL(), verifier.WithObserver(func(r verifier.Revocation) {
		mu.Lock()
		applied[r.SessionID] = time.Now()
		mu.Unlock()
	}))
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("prop-%d", i)
		s.start(key, "alice", ids[i])
	}
	client := &http.Client{}
	responded := make([]time.Time, b.N)
	sent := make([]time.Time, b.N)
	tick := time.NewTicker(5 * time.Millisecond) // 200 revocations a second
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		req, _ := http.NewRequest("DELETE", s.URL+"/auth/admin/api/users/alice/sessions/"+ids[i], strings.NewReader(`{"reason":"bench"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		sent[i] = time.Now()
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("DELETE: %v %v", err, resp)
		}
		resp.Body.Close()
		responded[i] = time.Now()
	}
	b.StopTimer()
	deadline := time.Now().Add(10 * time.Second)
	for v.Len() < b.N && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	lat := make([]time.Duration, b.N)   // from the 200
	whole := make([]time.Duration, b.N) // from sending the DELETE
	mu.Lock()
	for i, id := range ids {
		at, ok := applied[id]
		if !ok {
			b.Fatalf("%s never reached the verifier", id)
		}
		lat[i] = max(at.Sub(responded[i]), 0)
		whole[i] = at.Sub(sent[i])
	}
	mu.Unlock()
	report(b, lat, "")
	report(b, whole, "from-request-")
}

func report(b *testing.B, d []time.Duration, prefix string) {
	slices.Sort(d)
	q := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), prefix+"p50-ms")
	b.ReportMetric(q(0.99), prefix+"p99-ms")
	b.ReportMetric(float64(d[len(d)-1].Microseconds())/1000, prefix+"max-ms")
}
