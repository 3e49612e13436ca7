package server

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/sessiond/sessiond/eventstore/consumer"
)

var (
	appendDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "sessiond_eventstore_append_duration_seconds",
		Help:    "Duration of each append transaction (one group commit).",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
	})
	appendBatch = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "sessiond_eventstore_append_batch_events",
		Help:    "Events per append transaction.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	})
)

// collectors holds the process-wide collectors a Main registers; a
// restarted Main (as in tests) replaces its predecessor's.
var (
	collectorMu sync.Mutex
	collectors  = map[string]prometheus.Collector{}
)

// replaceCollector registers c under name, unregistering the previous one.
func replaceCollector(name string, c prometheus.Collector) {
	collectorMu.Lock()
	defer collectorMu.Unlock()
	if old, ok := collectors[name]; ok {
		prometheus.Unregister(old)
	}
	collectors[name] = c
	prometheus.MustRegister(c)
}

// registerLag exports the log head and the lag of the asynchronous
// consumers (runners) of store.
func registerLag(store Store, runners ...*consumer.Runner) {
	head := func(ctx context.Context) (int64, error) { p, _, err := store.Head(ctx); return p, err }
	replaceCollector("projection-lag", consumer.NewLagCollector(head, runners...))
}

// observeAppend is the event store's Observe hook.
func observeAppend(events int, took time.Duration) {
	appendDuration.Observe(took.Seconds())
	appendBatch.Observe(float64(events))
}
