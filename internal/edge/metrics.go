package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessiond/sessiond/verifier"
)

const (
	transportHTTP = iota
	transportGRPC
)

// decisionMetrics counts decisions by transport and result. The counters
// are resolved once, so counting does not allocate.
type decisionMetrics struct {
	vec      *prometheus.CounterVec
	counters [2]map[string]prometheus.Counter // by transport, then result
}

func newDecisionMetrics() *decisionMetrics {
	m := &decisionMetrics{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_edge_decisions_total",
		Help: "Decisions answered by edgeverify, by transport (http, grpc) and result (allowed or the error code).",
	}, []string{"transport", "result"})}
	for t, name := range []string{"http", "grpc"} {
		m.counters[t] = map[string]prometheus.Counter{}
		for _, r := range []string{"allowed", verifier.CodeTokenInvalid, verifier.CodeTokenExpired,
			verifier.CodeSessionRevoked, verifier.CodeRevocationsStale} {
			m.counters[t][r] = m.vec.WithLabelValues(name, r)
		}
	}
	return m
}

func (m *decisionMetrics) count(transport int, d Decision) {
	if m == nil {
		return
	}
	result := "allowed"
	if d.Deny != nil {
		result = d.Deny.Code
	}
	m.counters[transport][result].Inc()
}
