package server

import "testing"

// TestDefaultIssuer: with no --issuer, tokens name the port sessiond
// listens on, so a tour on another port publishes a jwks_uri that works.
func TestDefaultIssuer(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
		guessed    bool
	}{
		{":8080", "http://localhost:8080", false},
		{":9090", "http://localhost:9090", false},
		{"0.0.0.0:9090", "http://localhost:9090", false},
		{"127.0.0.1:9090", "http://localhost:9090", false},
		{"[::1]:9090", "http://localhost:9090", false},
		{"auth.example.test:443", "http://auth.example.test:443", false},
		{"10.1.2.3:8080", "http://10.1.2.3:8080", false},
		{"127.0.0.1:0", "http://localhost:8080", true},
	} {
		got, guessed := defaultIssuer(tc.addr)
		if got != tc.want || guessed != tc.guessed {
			t.Errorf("defaultIssuer(%q) = %q, %v; want %q, %v", tc.addr, got, guessed, tc.want, tc.guessed)
		}
	}
}
