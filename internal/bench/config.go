package bench

import (
	"fmt"
	"time"
)

// Config says what to measure.
type Config struct {
	Target   string // sessiond's base URL, e.g. http://127.0.0.1:8080
	Key      string // an admin key with sessions:write and sessions:revoke
	NATSURL  string // where verifiers follow revocations; empty: no verifiers
	Clients  int    // concurrent HTTP clients; default 8
	Sessions int    // sessions started, then revoked; default 10000
	// Rate is revocations a second across all clients; 0 is full speed.
	// At a fixed rate, latency counts from each request's scheduled send
	// time, so a stall is not hidden by the requests it delayed.
	Rate      float64
	Verifiers int // verifiers, each on its own NATS connection; default 1
	// DatabaseURL, when set, runs the yardstick: pgbench's single-row
	// INSERT into an events-shaped table in a scratch database on the same
	// server, with the same number of clients.
	DatabaseURL string
	// YardstickTime is how long the yardstick runs; default 10s.
	YardstickTime time.Duration
	// Propagation bounds the wait for the verifiers after the last revoke;
	// default 30s.
	Propagation time.Duration
	// Store names the store under test in the output, e.g. "postgres".
	Store string
}

func (c *Config) defaults() error {
	if c.Target == "" {
		return fmt.Errorf("no target: give --target URL or --embedded")
	}
	if c.Key == "" {
		return fmt.Errorf("no admin key: give --key (sessions:write and sessions:revoke)")
	}
	if c.Clients <= 0 {
		c.Clients = 8
	}
	if c.Sessions <= 0 {
		c.Sessions = 10000
	}
	if c.Verifiers < 0 {
		c.Verifiers = 0
	}
	if c.NATSURL == "" {
		c.Verifiers = 0
	}
	if c.YardstickTime <= 0 {
		c.YardstickTime = 10 * time.Second
	}
	if c.Propagation <= 0 {
		c.Propagation = 30 * time.Second
	}
	return nil
}
