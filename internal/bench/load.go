package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// outcome is what one request came to: "" for success, or a failure kind.
type outcome string

// job is one request to make; at is its scheduled send time at a fixed
// rate, zero at full speed.
type job struct {
	i  int
	at time.Time
}

// drive runs n requests over clients workers, paced at rate a second (0:
// as fast as they complete), and records them as one phase. sent, when
// not nil, receives each request's actual send time.
func drive(ctx context.Context, name string, n, clients int, rate float64, sent []time.Time,
	do func(ctx context.Context, i int) outcome) *Phase {
	jobs := make(chan job, clients)
	start := time.Now()
	go func() {
		defer close(jobs)
		interval := time.Duration(0)
		if rate > 0 {
			interval = time.Duration(float64(time.Second) / rate)
		}
		for i := 0; i < n; i++ {
			j := job{i: i}
			if interval > 0 {
				j.at = start.Add(time.Duration(i) * interval)
				// Pacing the load is the point here; this waits for a
				// schedule, not for a condition.
				time.Sleep(time.Until(j.at))
			}
			select {
			case jobs <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	recs := make([]*recorder, clients)
	var wg sync.WaitGroup
	for w := range clients {
		recs[w] = newRecorder(start)
		wg.Add(1)
		go func(r *recorder) {
			defer wg.Done()
			for j := range jobs {
				began := time.Now()
				if sent != nil {
					sent[j.i] = began
				}
				if !j.at.IsZero() {
					began = j.at // coordinated omission: count from the schedule
				}
				if o := do(ctx, j.i); o != "" {
					r.fail(string(o))
					continue
				}
				r.ok(began, time.Now())
			}
		}(recs[w])
	}
	wg.Wait()
	return merge(name, time.Since(start), recs)
}

// client makes sessiond's admin requests.
type client struct {
	base string
	key  string
	http *http.Client
}

func newClient(base, key string, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns * 2
	tr.MaxIdleConnsPerHost = conns * 2
	return &client{base: base, key: key, http: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// do sends one request and returns the outcome and the body of a 2xx.
func (c *client) do(ctx context.Context, method, path, body string, want int) (outcome, []byte) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewBufferString(body))
	if err != nil {
		return "request", nil
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "transport", nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "transport", nil
	}
	if resp.StatusCode != want && !(want == http.StatusCreated && resp.StatusCode == http.StatusOK) {
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(b, &e)
		return outcome(strconv.Itoa(resp.StatusCode) + " " + e.Code), nil
	}
	return "", b
}

// sessionPath is the path of session i of this run.
func sessionPath(run string, i int) (user, session string) {
	return fmt.Sprintf("bench-%s-u%d", run, i%1000), fmt.Sprintf("bench-%s-s%d", run, i)
}
