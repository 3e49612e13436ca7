package server_test

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/ssf/receiver"
)

// BenchmarkSSFPush measures, at 100 revocations a second, the time from a
// DELETE's 200 to the moment a push receiver has validated the SET
// (signature, claims, de-duplication). Run it with -benchtime 500x.
func BenchmarkSSFPush(b *testing.B) {
	s := ssfServer(b, "postgres")
	key := s.key("ops", "sessions:write", "sessions:revoke")
	rkey := s.key("receiver", "ssf:manage")
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
	)
	rcv := receiver.New(receiver.Config{Issuer: s.URL, Audience: []string{"bench"}, JWKSURL: s.URL + "/ssf/jwks.json"})
	srv := &http.Server{Handler: rcv.Handler("", func(set *receiver.SET) {
		mu.Lock()
		arrived[sessionOf(set)] = time.Now()
		mu.Unlock()
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close() })
	r := s.do("POST", "/ssf/stream", rkey, `{"aud":"bench","delivery":{"method":"urn:ietf:rfc:8935","endpoint_url":"http://`+addr+`/"}}`)
	if r.Status != http.StatusCreated {
		b.Fatalf("create stream = %d %s", r.Status, r.Body)
	}
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-%d", i)
		s.start(key, "alice", ids[i])
	}
	client := &http.Client{}
	responded := make([]time.Time, b.N)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		<-tick.C
		req, _ := http.NewRequest("DELETE", s.URL+"/auth/admin/api/users/alice/sessions/"+ids[i], strings.NewReader(`{"reason":"bench"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("DELETE: %v %v", err, resp)
		}
		resp.Body.Close()
		responded[i] = time.Now()
	}
	if err := waitfor.Until(30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(arrived) < b.N {
			return fmt.Errorf("%d of %d SETs", len(arrived), b.N)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	lat := make([]float64, b.N)
	for i, id := range ids {
		lat[i] = max(0, float64(arrived[id].Sub(responded[i]).Microseconds())/1000)
	}
	slices.Sort(lat)
	b.ReportMetric(lat[b.N/2], "p50-ms")
	b.ReportMetric(lat[b.N*99/100], "p99-ms")
	b.ReportMetric(lat[b.N-1], "max-ms")
}
