package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
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

// observeAppend is the event store's Observe hook.
func observeAppend(events int, took time.Duration) {
	appendDuration.Observe(took.Seconds())
	appendBatch.Observe(float64(events))
}
