package netfault_test

import (
	"bufio"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sessiond/sessiond/internal/netfault"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, r *bufio.Reader, deadline time.Duration) error {
	c.SetDeadline(time.Now().Add(deadline))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return errors.New("wrong echo " + line)
	}
	return nil
}

func TestProxy(t *testing.T) {
	p, err := netfault.Start(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if err := roundTrip(c, r, 2*time.Second); err != nil {
		t.Fatalf("forwarding: %v", err)
	}

	t.Run("blackhole", func(t *testing.T) {
		p.Blackhole()
		var ne net.Error
		if err := roundTrip(c, r, 200*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("round trip through a blackhole = %v, want a timeout", err)
		}
		// A new connection is accepted but answers nothing either.
		c2, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatalf("dial during blackhole: %v", err)
		}
		defer c2.Close()
		r2 := bufio.NewReader(c2)
		if err := roundTrip(c2, r2, 200*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("new connection through a blackhole = %v, want a timeout", err)
		}
		p.Heal()
		// The held bytes arrive after the heal, as TCP would retransmit them.
		c2.SetDeadline(time.Now().Add(2 * time.Second))
		if line, err := r2.ReadString('\n'); err != nil || line != "ping\n" {
			t.Fatalf("held echo after heal = %q, %v", line, err)
		}
	})

	t.Run("reset", func(t *testing.T) {
		p.Reset()
		waitfor.Cond(t, 2*time.Second, func() error {
			c.SetDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.Write([]byte("x\n")); err != nil {
				return nil
			}
			if _, err := r.ReadString('\n'); err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					return err
				}
				return nil
			}
			return errors.New("connection still forwards after Reset")
		})
	})

	t.Run("latency", func(t *testing.T) {
		p.SetLatency(100 * time.Millisecond)
		defer p.SetLatency(0)
		c3, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c3.Close()
		start := time.Now()
		if err := roundTrip(c3, bufio.NewReader(c3), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		// Both directions are delayed: a lower bound, never an upper one.
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Fatalf("round trip took %v, want at least 200ms of added latency", took)
		}
	})
}
