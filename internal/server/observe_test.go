package server_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestMetricsAndLogs: metrics are labelled by route template, never by raw
// ids; revocation outcomes are counted; admin keys never reach the logs.
func TestMetricsAndLogs(t *testing.T) {
	s := startServer(t)
	key := s.key("ops")
	s.start(key, "user-metrics-1", "sess-metrics-1")
	// The collectors are process-wide and other tests count too: compare
	// the values before and after this test's requests.
	before := string(s.do("GET", "/metrics", "", "").Body)
	s.do("DELETE", "/auth/admin/api/users/user-metrics-1/sessions/sess-metrics-1", key, "")
	s.do("DELETE", "/auth/admin/api/users/user-metrics-1/sessions/sess-metrics-1", key, "")
	s.do("DELETE", "/auth/admin/api/users/user-metrics-1/sessions/nope-metrics", key, "")

	r := s.do("GET", "/metrics", "", "")
	if r.Status != http.StatusOK {
		t.Fatalf("metrics = %d", r.Status)
	}
	body := string(r.Body)
	for _, want := range []string{
		`sessiond_http_requests_total{method="DELETE",route="/auth/admin/api/users/{id}/sessions/{sessionId}",status="200"}`,
		`sessiond_http_request_duration_seconds_bucket{method="DELETE",route="/auth/admin/api/users/{id}/sessions/{sessionId}"`,
		`sessiond_revocations_total{outcome="revoked"}`,
		`sessiond_revocations_total{outcome="already_revoked"}`,
		`sessiond_revocations_total{outcome="not_found"}`,
		`sessiond_eventstore_append_duration_seconds_bucket`,
		`sessiond_eventstore_append_batch_events_bucket`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, raw := range []string{"user-metrics-1", "sess-metrics-1", "nope-metrics"} {
		if strings.Contains(body, raw) {
			t.Errorf("metrics contain the raw id %q", raw)
		}
	}
	for series, want := range map[string]float64{
		`sessiond_revocations_total{outcome="revoked"}`:                                                                      1,
		`sessiond_revocations_total{outcome="already_revoked"}`:                                                              1,
		`sessiond_revocations_total{outcome="not_found"}`:                                                                    1,
		`sessiond_http_requests_total{method="DELETE",route="/auth/admin/api/users/{id}/sessions/{sessionId}",status="200"}`: 2,
		`sessiond_http_requests_total{method="DELETE",route="/auth/admin/api/users/{id}/sessions/{sessionId}",status="404"}`: 1,
	} {
		if got := metricValue(body, series) - metricValue(before, series); got != want {
			t.Errorf("%s grew by %v, want %v", series, got, want)
		}
	}
	logs := s.Logs.String()
	if !strings.Contains(logs, `"msg":"request"`) {
		t.Fatalf("no request logs captured:\n%s", logs)
	}
	if strings.Contains(logs, key) || strings.Contains(logs, key[len("sessiond_ak_"):]) {
		t.Error("an admin key appears in the logs")
	}
}

// metricValue reads one series' value from a text exposition; 0 if absent.
func metricValue(exposition, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
