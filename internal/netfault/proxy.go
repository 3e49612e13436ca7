// Package netfault is a TCP proxy for tests that inject network faults
// between sessiond and PostgreSQL or NATS: a blackhole (connections are
// accepted and nothing is forwarded, as when a network drops packets),
// added latency, and reset connections.
//
// It imports only the standard library. Latency is the one place where it
// sleeps: that is the fault it injects, not a wait for a condition.
package netfault

import (
	"net"
	"sync"
	"time"
)

// Proxy forwards every connection made to Addr to its target.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	open    chan struct{} // closed while traffic flows; a fresh one blocks it
	latency time.Duration
	conns   map[net.Conn]struct{}
	closed  bool
	wg      sync.WaitGroup
}

// Start listens on a free loopback port and forwards to target
// ("host:port").
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, target: target, open: open, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's "host:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Blackhole stops all forwarding: new connections are accepted but not
// dialled onward, and bytes on existing ones are held, so peers see a
// silent network rather than an error. Heal lets the held bytes through.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // already blackholed
	}
}

// Heal ends a blackhole.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// Blackholed reports whether the proxy is blackholing traffic.
func (p *Proxy) Blackholed() bool {
	select {
	case <-p.gate():
		return false
	default:
		return true
	}
}

// SetLatency delays every chunk of data by d in each direction; 0 ends it.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Reset closes every connection open now, as a crashed middlebox would.
// New connections are served as before.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.Heal() // release held pipes so they see their closed connections
	p.wg.Wait()
	return err
}

func (p *Proxy) gate() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

func (p *Proxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latency
}

// track registers c, or closes it and reports false once the proxy is
// closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// serve dials the target once traffic may flow, then copies both ways.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	if !p.wait(client) {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done // one side ended: close both (deferred), then let the other finish
	client.Close()
	server.Close()
	<-done
}

// wait blocks while the proxy is blackholed; it reports false if c was
// closed meanwhile.
func (p *Proxy) wait(c net.Conn) bool {
	for {
		g := p.gate()
		select {
		case <-g:
			p.mu.Lock()
			_, alive := p.conns[c]
			p.mu.Unlock()
			return alive
		case <-time.After(50 * time.Millisecond):
			p.mu.Lock()
			_, alive := p.conns[c]
			p.mu.Unlock()
			if !alive {
				return false
			}
		}
	}
}

// pipe copies src to dst chunk by chunk, holding chunks while blackholed
// and delaying them by the latency.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			at := time.Now()
			if !p.wait(src) {
				return
			}
			if d := p.delay(); d > 0 {
				time.Sleep(time.Until(at.Add(d)))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or a closed connection: serve closes both sides
		}
	}
}
