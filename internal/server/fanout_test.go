package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/verifier"
)

// BenchmarkFanout measures the fan-out of revocations to verifiers, each
// with its own NATS connection and verifier.New, all connected through one
// leaf node (a separate nats-server process) of a 3-node JetStream cluster
// holding the SESSIONS stream at 3 replicas. sessiond revokes at a fixed
// rate; every delivery of every revocation to every verifier is one
// sample. The main case is 1,000 verifiers at 200 revocations a second;
// the others show how the cost scales. Run it with -benchtime 1000x (one
// revocation per iteration):
//
//	go test -run '^$' -bench BenchmarkFanout -benchtime 1000x ./internal/server
//
// It reports p50/p99/max from sending the DELETE (commit, publish,
// replication, fan-out), and from the DELETE's 200 (what is left once
// JetStream has acknowledged; 0 when the verifier had it first); the
// memory per verifier connection: the test process's heap (nats.Conn and
// Verifier) and the leaf node's resident memory; and the CPU time per
// delivery of the leaf process and of the test process (which also runs
// the cluster, sessiond and the verifiers).
func BenchmarkFanout(b *testing.B) {
	for _, tc := range []struct{ verifiers, rate int }{{1000, 200}, {1000, 20}, {100, 200}} {
		b.Run(fmt.Sprintf("verifiers=%d/rate=%d", tc.verifiers, tc.rate), func(b *testing.B) {
			fanout(b, tc.verifiers, tc.rate, sdk)
		})
	}
	// Not the SDK: 1,000 plain core NATS subscribers of sessions.revoked.>
	// that decode each revocation, to show what the live feed costs without
	// a JetStream consumer per verifier.
	b.Run("core-subscribers=1000/rate=200", func(b *testing.B) { fanout(b, 1000, 200, coreSubscribers) })
	// The regional pattern: the leaf mirrors SESSIONS and the verifiers
	// consume the mirror, so the leaf process does all the consumer work
	// and the rest of the CPU is the clients' (and sessiond's).
	b.Run("mirror-leaf/verifiers=1000/rate=200", func(b *testing.B) { fanout(b, 1000, 200, mirrorLeaf) })
}

type fanoutMode int

const (
	sdk             fanoutMode = iota // verifier.New against the hub's stream through the leaf
	coreSubscribers                   // plain subscriptions, not the SDK
	mirrorLeaf                        // verifier.New against a mirror in the leaf
)

func fanout(b *testing.B, fanoutVerifiers, rate int, mode fanoutMode) {
	core := mode == coreSubscribers
	c := natstest.StartCluster(b, 3)
	leafURL, leafPID := startLeafProcess(b, c, mode == mirrorLeaf)
	pool, dbURL := pgtest.NewPool(b)
	s := startServerOn(b, pool, dbURL, "NATS_URL", c.URL(), "SESSIOND_STREAM_REPLICAS", "3")
	key := s.key("ops")
	if mode == mirrorLeaf {
		waitfor.Cond(b, 20*time.Second, func() error {
			nc, err := nats.Connect(leafURL)
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err = js.CreateOrUpdateStream(ctx, natstest.MirrorConfig("SESSIONS"))
			return err
		})
	}
	n := b.N
	ids := make([]string, n)
	index := make(map[string]int, n)
	for j := range ids {
		ids[j] = fmt.Sprintf("fan-%d", j)
		index[ids[j]] = j
		s.start(key, "alice", ids[j])
	}
	// applied[i][j]: when verifier i applied revocation j (unix nanos).
	applied := make([][]int64, fanoutVerifiers)
	for i := range applied {
		applied[i] = make([]int64, n)
	}
	var deliveries atomic.Int64
	conns := make([]*nats.Conn, fanoutVerifiers)
	vs := make([]*verifier.Verifier, fanoutVerifiers)
	waitfor.Cond(b, 20*time.Second, func() error { // the stream exists once sessiond set it up
		nc, err := nats.Connect(leafURL)
		if err != nil {
			return err
		}
		defer nc.Close()
		v, err := verifier.New(context.Background(), nc, verifier.WithLogger(slog.New(slog.DiscardHandler)))
		if err == nil {
			v.Close()
		}
		return err
	})

	quiet := slog.New(slog.DiscardHandler)
	heapBefore, rssBefore := heapInUse(), rssKiB(b, leafPID)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range fanoutVerifiers {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			nc, err := nats.Connect(leafURL, nats.MaxReconnects(-1))
			if err != nil {
				b.Error(err)
				return
			}
			row := applied[i]
			observe := func(r verifier.Revocation) {
				if j, ok := index[r.SessionID]; ok && row[j] == 0 {
					row[j] = time.Now().UnixNano()
					deliveries.Add(1)
				}
			}
			if core {
				_, err := nc.Subscribe("sessions.revoked.>", func(m *nats.Msg) {
					var r verifier.Revocation
					if json.Unmarshal(m.Data, &r) == nil {
						observe(r)
					}
				})
				if err == nil {
					err = nc.Flush()
				}
				if err != nil {
					b.Error(err)
				}
				conns[i] = nc
				return
			}
			v, err := verifier.New(context.Background(), nc, verifier.WithLogger(quiet), verifier.WithObserver(observe))
			if err != nil {
				b.Error(err)
				nc.Close()
				return
			}
			conns[i], vs[i] = nc, v
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	defer func() {
		for i := range vs {
			if vs[i] != nil {
				vs[i].Close()
			}
			conns[i].Close()
		}
	}()
	heapAfter, rssAfter := heapInUse(), rssKiB(b, leafPID)
	leafCPU, selfCPU := cpuTime(b, leafPID), selfCPUTime()

	sent := make([]int64, n)
	responded := make([]int64, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	b.ResetTimer()
	var (
		senders  sync.WaitGroup
		failed   atomic.Int64
		inFlight = make(chan struct{}, 64) // a slow server slows the rate rather than piling up requests
	)
	began := time.Now()
	for j := range n {
		<-tick.C
		inFlight <- struct{}{}
		senders.Go(func() {
			defer func() { <-inFlight }()
			req, _ := http.NewRequest("DELETE", s.URL+"/auth/admin/api/users/alice/sessions/"+ids[j], strings.NewReader(`{"reason":"bench"}`))
			req.Header.Set("Authorization", "Bearer "+key)
			sent[j] = time.Now().UnixNano()
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
				return
			}
			responded[j] = time.Now().UnixNano()
		})
	}
	senders.Wait()
	achieved := float64(n) / time.Since(began).Seconds()
	// Revocations that failed (an overloaded server answers 503) are left
	// out; every other one must reach every verifier.
	var ok []int
	for j := range n {
		if responded[j] != 0 {
			ok = append(ok, j)
		}
	}
	want := int64(fanoutVerifiers * len(ok))
	if err := waitfor.Until(120*time.Second, func() error {
		if got := deliveries.Load(); got < want {
			return fmt.Errorf("%d of %d deliveries", got, want)
		}
		for i := range applied {
			for _, j := range ok {
				if applied[i][j] == 0 {
					return fmt.Errorf("verifier %d lacks revocation %d", i, j)
				}
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	leafCPU, selfCPU = cpuTime(b, leafPID)-leafCPU, selfCPUTime()-selfCPU
	whole := make([]time.Duration, 0, want)
	after := make([]time.Duration, 0, want)
	for i := range applied {
		for _, j := range ok {
			at := applied[i][j]
			whole = append(whole, time.Duration(at-sent[j]))
			after = append(after, max(time.Duration(at-responded[j]), 0))
		}
	}
	report(b, whole, "from-request-")
	report(b, after, "from-200-")
	b.ReportMetric(float64(heapAfter-heapBefore)/float64(fanoutVerifiers)/1024, "client-heap-KiB/verifier")
	b.ReportMetric(float64(rssAfter-rssBefore)/float64(fanoutVerifiers), "leaf-rss-KiB/verifier")
	b.ReportMetric(float64(want), "deliveries")
	b.ReportMetric(float64(failed.Load()), "failed-revocations")
	b.ReportMetric(achieved, "revocations/s")
	b.ReportMetric(float64(leafCPU.Microseconds())/float64(want), "leaf-cpu-µs/delivery")
	b.ReportMetric(float64(selfCPU.Microseconds())/float64(want), "rest-cpu-µs/delivery")
}
