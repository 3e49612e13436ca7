package api_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/sessiond/sessiond/api"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name, peer, fwd, xff string
		trusted              []netip.Prefix
		want                 string
	}{
		{"no proxies", "127.0.0.1:5000", "", "203.0.113.9", nil, "127.0.0.1"},
		{"untrusted peer", "192.0.2.1:5000", "", "203.0.113.9", trusted, "192.0.2.1"},
		{"trusted peer", "127.0.0.1:5000", "", "203.0.113.9", trusted, "203.0.113.9"},
		{"skips trusted hops", "127.0.0.1:5000", "", "203.0.113.9, 10.1.2.3", trusted, "203.0.113.9"},
		{"stops at the first untrusted hop", "127.0.0.1:5000", "", "198.51.100.1, 203.0.113.9, 10.1.2.3", trusted, "203.0.113.9"},
		{"all trusted", "127.0.0.1:5000", "", "10.9.9.9", trusted, "10.9.9.9"},
		{"forwarded wins", "127.0.0.1:5000", `for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"`, "203.0.113.9", trusted, "2001:db8:cafe::17"},
		{"forwarded unknown", "127.0.0.1:5000", `for=unknown, for=10.0.0.2`, "", trusted, "10.0.0.2"},
		{"garbage", "127.0.0.1:5000", "", "not-an-ip", trusted, "127.0.0.1"},
		{"ipv6 peer", "[::1]:5000", "", "203.0.113.9", trusted, "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.fwd != "" {
				r.Header.Set("Forwarded", tc.fwd)
			}
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := api.ClientIP(r, tc.trusted); got != tc.want {
				t.Errorf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}
