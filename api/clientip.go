package api

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

const keyClientIP ctxKey = 101

// withClientIP resolves the request's client address once (ClientIP) and
// keeps it in the context for events and rate limiters.
func (s *Server) withClientIP(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), keyClientIP, ClientIP(r, s.opts.TrustedProxies)))
}

// sourceIP is the request's client address: as resolved by withClientIP,
// or else the TCP peer.
func sourceIP(r *http.Request) string {
	if ip, ok := r.Context().Value(keyClientIP).(string); ok {
		return ip
	}
	return peerIP(r)
}

func peerIP(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// ClientIP returns the address of the client behind r. The forwarding
// headers are believed only from a trusted peer: if the TCP peer is in
// trusted, the hops of Forwarded (RFC 7239; or, without it,
// X-Forwarded-For) are walked from right to left, skipping trusted
// proxies, and the first untrusted hop is the client. A hop that is not an
// address (RFC 7239 "unknown" or an obfuscated name) ends the walk at the
// last trusted hop. From an untrusted peer, or with no trusted proxies,
// the peer is the client and the headers are ignored.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := peerIP(r)
	addr, err := netip.ParseAddr(peer)
	if err != nil || !isTrusted(addr, trusted) {
		return peer
	}
	hops := forwardedFor(r.Header.Values("Forwarded"))
	if hops == nil {
		hops = xForwardedFor(r.Header.Values("X-Forwarded-For"))
	}
	client := addr
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := parseHop(hops[i])
		if err != nil {
			break
		}
		client = hop
		if !isTrusted(hop, trusted) {
			break
		}
	}
	return client.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the for= values of Forwarded headers in order, or
// nil when there is none.
func forwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, elem := range splitQuoted(v, ',') {
			for _, pair := range splitQuoted(elem, ';') {
				k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					out = append(out, strings.Trim(strings.TrimSpace(val), `"`))
				}
			}
		}
	}
	return out
}

func xForwardedFor(values []string) []string {
	var out []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var (
		out    []string
		quoted bool
		start  int
	)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// parseHop reads one hop: an IPv4 or IPv6 address, optionally bracketed
// and with a port ("192.0.2.1:80", "[2001:db8::1]:4711").
func parseHop(h string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(h, "[]"))
	return a.Unmap(), err
}
