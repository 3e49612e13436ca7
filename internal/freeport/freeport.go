// Package freeport picks TCP ports for test servers that must know their
// ports before they start (cluster routes, leaf remotes) or keep them
// across a restart. It is for tests only and imports only the standard
// library.
//
// A port taken with "listen on :0" comes from the kernel's ephemeral range,
// the same range every outgoing connection on the machine draws its source
// port from. Between closing the probe and the server's own bind, or while
// a server is stopped for a restart, one of the many connections a parallel
// test run opens can take it, and the server fails to listen. Ports below
// the ephemeral range are never handed out that way, so Pick draws from
// there, at random, and checks that nobody listens.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// low is the first port Pick considers; ports below 10000 are left to
// services.
const low = 10000

var (
	mu     sync.Mutex
	handed = map[int]bool{} // never the same port twice in one process
)

// Pick returns a TCP port on 127.0.0.1 that was free a moment ago and that
// the kernel does not give to outgoing connections or to ":0" listeners.
func Pick() (int, error) {
	high := ephemeralLow() - 1
	if high-low < 1000 {
		return kernelPort()
	}
	mu.Lock()
	defer mu.Unlock()
	for range 200 {
		p := low + rand.IntN(high-low+1)
		if handed[p] {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		handed[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("freeport: no free port found in %d-%d", low, high)
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}

func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
