package consumer

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Head reports the position of the newest event in the log.
type Head func(ctx context.Context) (int64, error)

// LagCollector exports the log head and, for every runner, its checkpoint
// and how many events it is behind (sessiond_projection_checkpoint_lag_events).
type LagCollector struct {
	head    Head
	runners []*Runner
	headD   *prometheus.Desc
	posD    *prometheus.Desc
	lagD    *prometheus.Desc
}

// NewLagCollector returns a collector over head and runners.
func NewLagCollector(head Head, runners ...*Runner) *LagCollector {
	return &LagCollector{
		head:    head,
		runners: runners,
		headD:   prometheus.NewDesc("sessiond_log_head_position", "Position of the newest event in the log.", nil, nil),
		posD:    prometheus.NewDesc("sessiond_projection_checkpoint_position", "Last position a consumer has handled.", []string{"consumer"}, nil),
		lagD:    prometheus.NewDesc("sessiond_projection_checkpoint_lag_events", "Events a consumer is behind the log head.", []string{"consumer"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.headD
	ch <- c.posD
	ch <- c.lagD
}

// Collect implements prometheus.Collector. If the head cannot be read,
// only the checkpoints are reported.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	head, err := c.head(ctx)
	if err == nil {
		ch <- prometheus.MustNewConstMetric(c.headD, prometheus.GaugeValue, float64(head))
	}
	for _, r := range c.runners {
		pos := r.Position()
		ch <- prometheus.MustNewConstMetric(c.posD, prometheus.GaugeValue, float64(pos), r.Name)
		if err == nil {
			ch <- prometheus.MustNewConstMetric(c.lagD, prometheus.GaugeValue, float64(max(head-pos, 0)), r.Name)
		}
	}
}
