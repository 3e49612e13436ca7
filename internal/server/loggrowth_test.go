package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// BenchmarkLogGrowth measures what each session costs in storage when it
// goes through the real API: per iteration one session is started and
// revoked (with a reason, an actor, a request id and personal data
// references, as in production). It reports the on-disk bytes (tables,
// TOAST and indexes, after VACUUM ANALYZE) per event of the log, of
// personal_data per event, per row of the sessions read model, the
// JetStream bytes per revocation message, and the CPU time of the test
// process (sessiond, the HTTP client, nats-server; not PostgreSQL) per
// request. It is the input of the README's capacity plan:
//
//	go test -run '^$' -bench BenchmarkLogGrowth -benchtime 20000x ./internal/server
func BenchmarkLogGrowth(b *testing.B) {
	ns := natstest.Start(b)
	pool, dbURL := pgtest.NewPool(b)
	s := startServerOn(b, pool, dbURL, "NATS_URL", ns.URL())
	key := s.key("ops")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	call := func(method, path, body string) {
		req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			b.Errorf("%s %s: %v %v", method, path, err, resp)
			return
		}
		resp.Body.Close()
	}
	next := make(chan int, b.N)
	for i := range b.N {
		next <- i
	}
	close(next)
	b.ResetTimer()
	cpu := selfCPUTime()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				// UUID-shaped session ids and numeric-looking user ids, as
				// sessiond generates and identity providers use.
				user, sid := fmt.Sprintf("user-%07d", i), fmt.Sprintf("0193a5c2-%04x-7000-8000-%012x", i%65536, i)
				call("POST", "/auth/admin/api/users/"+user+"/sessions", `{"sessionId":"`+sid+`","ttlSeconds":86400}`)
				call("DELETE", "/auth/admin/api/users/"+user+"/sessions/"+sid, `{"reason":"user reported a stolen laptop"}`)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	// sessiond, the embedded test client and nats-server: not PostgreSQL.
	b.ReportMetric(float64((selfCPUTime()-cpu).Microseconds())/float64(2*b.N), "process-cpu-µs/request")
	ctx := context.Background()
	waitfor.Cond(b, 60*time.Second, func() error { // every revocation on the stream
		var head, cp int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(position), 0), coalesce((SELECT position FROM checkpoints WHERE name = 'broadcast-relay'), 0) FROM events`).Scan(&head, &cp); err != nil {
			return err
		}
		if cp < head {
			return fmt.Errorf("relay at %d of %d", cp, head)
		}
		return nil
	})
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	size := func(table string) (bytes, rows float64) {
		if err := pool.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass), (SELECT count(*) FROM `+table+`)`, table).Scan(&bytes, &rows); err != nil {
			b.Fatal(err)
		}
		return bytes, rows
	}
	evBytes, events := size("events")
	sBytes, sessions := size("sessions")
	pBytes, _ := size("personal_data")
	b.ReportMetric(evBytes/events, "events-B/event")
	b.ReportMetric(pBytes/events, "personal-B/event")
	b.ReportMetric(sBytes/sessions, "sessions-B/row")

	nc, err := nats.Connect(ns.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "SESSIONS")
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(info.State.Bytes)/float64(info.State.Msgs), "stream-B/msg")
}
