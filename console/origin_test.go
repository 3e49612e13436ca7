package console

import (
	"net/http/httptest"
	"testing"
)

// TestSameOrigin: a state-changing request is accepted from the console's
// own origin (directly or behind a proxy that names the public host),
// refused from any other, and from an opaque ("null") origin.
func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		origin, forwarded string
		want              bool
	}{
		{"", "", true},
		{"http://sessiond.test:8080", "", true},
		{"https://console.example", "console.example", true},
		{"https://evil.example", "", false},
		{"https://evil.example", "console.example", false},
		{"null", "", false},
	} {
		r := httptest.NewRequest("POST", "http://sessiond.test:8080/console/signout", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.forwarded != "" {
			r.Header.Set("X-Forwarded-Host", tc.forwarded)
		}
		if got := sameOrigin(r); got != tc.want {
			t.Errorf("Origin %q (X-Forwarded-Host %q): sameOrigin = %v, want %v", tc.origin, tc.forwarded, got, tc.want)
		}
	}
}
