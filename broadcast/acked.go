package broadcast

import "sync"

// ackedCap bounds the positions remembered: the relay normally passes
// them within milliseconds; on an instance that is not the relay leader,
// the oldest are forgotten past it.
const ackedCap = 1 << 16

// acked remembers the log positions of revocations that this process's
// immediate path had acknowledged by JetStream, so that the relay, when it
// runs here, need not publish them again. Forgetting one is always safe:
// the relay then publishes it, and JetStream drops the repeat by its
// Nats-Msg-Id. The zero value is not usable; a nil *acked remembers
// nothing.
type acked struct {
	mu   sync.Mutex
	set  map[int64]struct{}
	ring []int64 // insertion order, for forgetting the oldest
	next int
}

func newAcked() *acked {
	return &acked{set: make(map[int64]struct{}), ring: make([]int64, 0, ackedCap)}
}

// add remembers that the revocation at pos is in the stream.
func (a *acked) add(pos int64) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ring) < cap(a.ring) {
		a.ring = append(a.ring, pos)
	} else {
		delete(a.set, a.ring[a.next])
		a.ring[a.next] = pos
		a.next = (a.next + 1) % len(a.ring)
	}
	a.set[pos] = struct{}{}
}

// take reports whether the revocation at pos is known to be in the stream,
// and forgets it (the relay passes each position once per term).
func (a *acked) take(pos int64) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.set[pos]
	delete(a.set, pos)
	return ok
}
