package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestPickBelowEphemeralRange: picked ports are distinct, bindable, and
// outside the range the kernel hands to outgoing connections.
func TestPickBelowEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := Pick()
		if err != nil {
			t.Fatal(err)
		}
		if p < low || p >= ephemeralLow() {
			t.Fatalf("port %d is outside [%d, %d)", p, low, ephemeralLow())
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("picked port %d is not free: %v", p, err)
		}
		l.Close()
	}
}
