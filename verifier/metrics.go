package verifier

import "github.com/prometheus/client_golang/prometheus"

var (
	descRevoked   = prometheus.NewDesc("sessiond_verifier_revoked_sessions", "Revocations held (unexpired).", nil, nil)
	descStaleness = prometheus.NewDesc("sessiond_verifier_staleness_seconds", "How long ago the feed was last known complete (the newest heartbeat's freshness point); -1 before the first.", nil, nil)
	descStale     = prometheus.NewDesc("sessiond_verifier_stale", "1 while the feed is older than its bound.", nil, nil)
	descPosition  = prometheus.NewDesc("sessiond_verifier_heartbeat_position", "Log position broadcast, from the newest heartbeat.", nil, nil)
	descHead      = prometheus.NewDesc("sessiond_verifier_heartbeat_head", "Log head the relay last read, from the newest heartbeat.", nil, nil)
	descMessages  = prometheus.NewDesc("sessiond_verifier_messages_total", "Stream messages applied.", nil, nil)
	descRejected  = prometheus.NewDesc("sessiond_verifier_revoked_checks_total", "Checks answered ErrRevoked.", nil, nil)
	descStaleOK   = prometheus.NewDesc("sessiond_verifier_stale_allowed_total", "Checks let through while stale (fail-open).", nil, nil)
)

// Describe implements prometheus.Collector: register a Verifier to export
// its metrics.
func (v *Verifier) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRevoked, descStaleness, descStale, descPosition, descHead, descMessages, descRejected, descStaleOK} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (v *Verifier) Collect(ch chan<- prometheus.Metric) {
	stale := 0.0
	if v.stale.Load() {
		stale = 1
	}
	staleness := v.Staleness().Seconds()
	if v.fresh.Load() == 0 {
		staleness = -1 // no heartbeat yet
	}
	ch <- prometheus.MustNewConstMetric(descRevoked, prometheus.GaugeValue, float64(v.Len()))
	ch <- prometheus.MustNewConstMetric(descStaleness, prometheus.GaugeValue, staleness)
	ch <- prometheus.MustNewConstMetric(descStale, prometheus.GaugeValue, stale)
	ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, float64(v.Position()))
	ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(v.Head()))
	ch <- prometheus.MustNewConstMetric(descMessages, prometheus.CounterValue, float64(v.msgs.Load()))
	ch <- prometheus.MustNewConstMetric(descRejected, prometheus.CounterValue, float64(v.revoked.Load()))
	ch <- prometheus.MustNewConstMetric(descStaleOK, prometheus.CounterValue, float64(v.staleOK.Load()))
}
