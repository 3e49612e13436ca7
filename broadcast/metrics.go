package broadcast

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	publishDuration = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "sessiond_broadcast_publish_duration_seconds",
		Help:    "Time from publishing revocations to JetStream's acks, per publish (immediate path or relay batch).",
		Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1},
	})
	publishErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "sessiond_broadcast_publish_errors_total",
		Help: "Failed or unacknowledged JetStream publishes.",
	})
	relaySkipped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "sessiond_broadcast_relay_skipped_total",
		Help: "Revocations the relay did not publish because this instance's immediate path had them acknowledged already.",
	})
	leaderGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "sessiond_broadcast_leader",
		Help: "1 while this instance runs the relay, else 0.",
	})
)

// lagCollector reports how far the broadcast is behind the log, in events
// and in seconds (age of the oldest event not yet broadcast). It reads the
// shared checkpoint, so every instance reports the same lag.
type lagCollector struct {
	log     Log
	events  *prometheus.Desc
	seconds *prometheus.Desc
}

func newLagCollector(l Log) *lagCollector {
	return &lagCollector{
		log:     l,
		events:  prometheus.NewDesc("sessiond_broadcast_lag_events", "Events recorded but not yet broadcast (log head minus the relay's saved checkpoint, which trails the broadcast by up to its checkpoint interval, 250ms by default).", nil, nil),
		seconds: prometheus.NewDesc("sessiond_broadcast_lag_seconds", "Age of the oldest event not yet broadcast; 0 when caught up.", nil, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.events; ch <- c.seconds }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	head, _, err := c.log.Head(ctx)
	if err != nil {
		return
	}
	cp, err := c.log.LoadCheckpoint(ctx, CheckpointName)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(max(head-cp, 0)))
	age := 0.0
	if head > cp {
		if next, err := c.log.ReadAll(ctx, cp, 1); err == nil && len(next) == 1 {
			age = time.Since(next[0].RecordedAt).Seconds()
		}
	}
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, age)
}
