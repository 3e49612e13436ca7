package ssf

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	deliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_ssf_deliveries_total",
		Help: "SETs a receiver accepted (push: 2xx; poll: acknowledged), per SSF stream.",
	}, []string{"stream"})
	failures = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_ssf_delivery_failures_total",
		Help: "Failed SET deliveries per SSF stream: transient (retried), skipped (refused SET), paused (stream paused), set_err (poll setErrs).",
	}, []string{"stream", "kind"})
	pollsWaiting = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sessiond_ssf_polls_waiting",
		Help: "Long polls waiting for a SET, per SSF poll stream.",
	}, []string{"stream"})
	leaderGauge = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "sessiond_ssf_leader",
		Help: "1 while this instance pushes SSF streams, else 0.",
	})
)

// lagCollector reports each live stream's lag: events recorded after its
// checkpoint, and the age of the oldest of them. It reads the shared
// checkpoints, so every instance reports the same.
type lagCollector struct {
	t       *Transmitter
	events  *prometheus.Desc
	seconds *prometheus.Desc
}

// Collector reports the per-stream lag in events and seconds.
func (t *Transmitter) Collector() prometheus.Collector {
	return &lagCollector{t: t,
		events:  prometheus.NewDesc("sessiond_ssf_lag_events", "Events recorded after the SSF stream's checkpoint (log head minus checkpoint).", []string{"stream"}, nil),
		seconds: prometheus.NewDesc("sessiond_ssf_lag_seconds", "Age of the oldest event after the SSF stream's checkpoint; 0 when caught up.", []string{"stream"}, nil),
	}
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.events; ch <- c.seconds }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	log := c.t.log
	head, _, err := log.Head(ctx)
	if err != nil {
		return
	}
	for _, st := range c.t.current().reg.Streams() {
		id := st.Config.StreamID
		cp, err := log.LoadCheckpoint(ctx, checkpointName(id))
		if err != nil {
			return
		}
		cp = max(cp, st.CreatedPos)
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(max(head-cp, 0)), id)
		age := 0.0
		if head > cp {
			if next, err := log.ReadAll(ctx, cp, 1); err == nil && len(next) == 1 {
				age = time.Since(next[0].RecordedAt).Seconds()
			}
		}
		ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, age, id)
	}
}
