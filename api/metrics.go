package api

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Collectors of the HTTP layer, registered once per process. Labels are
// route templates and outcomes, never raw paths or ids.
var (
	httpRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_http_requests_total",
		Help: "HTTP requests by route template, method and status code.",
	}, []string{"route", "method", "status"})

	httpDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sessiond_http_request_duration_seconds",
		Help:    "HTTP request latency by route template and method.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})

	authentications = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_admin_authentications_total",
		Help: "Admin authentications by credential (key, token: an OIDC access token) and outcome (ok, invalid, forbidden, unavailable, error).",
	}, []string{"credential", "outcome"})

	revocations = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sessiond_revocations_total",
		Help: "Revocation requests by outcome: revoked, already_revoked, not_found.",
	}, []string{"outcome"})
)

func init() {
	for _, c := range []string{"key", "token"} {
		for _, o := range []string{"ok", "invalid", "forbidden", "unavailable", "error"} {
			authentications.WithLabelValues(c, o)
		}
	}
	for _, o := range []string{"revoked", "already_revoked", "not_found"} {
		revocations.WithLabelValues(o)
	}
}
