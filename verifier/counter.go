package verifier

import (
	"math/rand/v2"
	"sync/atomic"
)

// counter is a count that Checks on many cores add to without sharing a
// cache line: each Add goes to a random one of its stripes (math/rand/v2
// draws from a per-thread generator, so picking one writes nothing
// shared), and Load sums them. Two cores meet on a stripe once in
// counterStripes adds, not on every add as with one atomic.
type counter struct {
	stripes [counterStripes]struct {
		n atomic.Uint64
		_ [120]byte // a stripe per 128 bytes: adjacent lines are fetched in pairs
	}
}

const counterStripes = 16

// Add adds one.
func (c *counter) Add() { c.stripes[rand.Uint32()%counterStripes].n.Add(1) }

// Load returns the count.
func (c *counter) Load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
