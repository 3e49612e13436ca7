package faults

import (
	"sync/atomic"
	"time"
)

// Clock is the real clock plus an offset the nemesis can jump: the clock
// the suite gives each verifier (verifier.WithClock). The zero value reads
// the real time. It is safe for concurrent use.
type Clock struct {
	off atomic.Int64 // nanoseconds
}

// Now returns the real time plus the offset. The result keeps Go's
// monotonic reading, moved by the offset too, so durations measured
// between two readings see a jump as the verifier would.
func (c *Clock) Now() time.Time { return time.Now().Add(c.Offset()) }

// Offset returns how far the clock is from the real time.
func (c *Clock) Offset() time.Duration { return time.Duration(c.off.Load()) }

// Jump moves the clock by d (forward if positive, back if negative) and
// returns the new offset.
func (c *Clock) Jump(d time.Duration) time.Duration {
	return time.Duration(c.off.Add(int64(d)))
}

// Restore sets the clock back to the real time.
func (c *Clock) Restore() { c.off.Store(0) }
