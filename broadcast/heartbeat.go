package broadcast

import (
	"context"
	"slices"
	"time"

	"github.com/sessiond/sessiond/verifier/wire"
)

// headTimeout bounds the log-head query of one heartbeat.
const headTimeout = 2 * time.Second

// maxReadings bounds the log heads kept while the relay is behind; past it
// the oldest are dropped, which can only make caughtUpAt older.
const maxReadings = 1024

// reading is a log head and the instant just before it was read: every
// event recorded before that instant is at or below head (positions follow
// commit order).
type reading struct {
	head int64
	at   time.Time
}

// progress tracks, within one leadership term, how far the relay has
// really got: the newest head it read and the last instant at which it had
// broadcast everything recorded up to then. It belongs to the heartbeat
// loop alone.
type progress struct {
	head     int64
	caughtUp time.Time // zero until the relay first knows it was caught up
	pending  []reading // heads read and not yet reached, oldest first
	failing  bool      // the last head read failed (logged once)
}

// read records a log head read just after at.
func (p *progress) read(head int64, at time.Time) {
	p.head = max(p.head, head)
	if len(p.pending) == maxReadings {
		p.pending = slices.Delete(p.pending, 0, 1)
	}
	p.pending = append(p.pending, reading{head: head, at: at})
}

// reached records that everything up to position has been broadcast: each
// head at or below it was caught up with as of the instant it was read.
func (p *progress) reached(position int64) {
	n := 0
	for n < len(p.pending) && p.pending[n].head <= position {
		p.caughtUp = p.pending[n].at
		n++
	}
	p.pending = slices.Delete(p.pending, 0, n)
}

// heartbeat reads the log head, matches it against the broadcast position
// and announces both, with the last instant the relay was caught up. It
// sends nothing before the term's runner has loaded its checkpoint, nor
// before it knows an instant at which the relay was caught up (in this
// term, or from this runner's earlier reads): until then it has nothing
// true to say, and verifiers age from the previous heartbeat. While the relay is stuck
// (reads failing, an event retried forever) heartbeats keep going out
// with the same caughtUpAt, so verifiers go stale within their bound.
// Heartbeats go through core NATS; the stream keeps the latest one for
// verifiers that start later.
func (r *Relay) heartbeat(ctx context.Context, p *progress) {
	if !r.loaded.Load() {
		return
	}
	p.reached(r.runner.Position())
	at := time.Now()
	hctx, cancel := context.WithTimeout(ctx, headTimeout)
	head, _, err := r.log.Head(hctx)
	cancel()
	switch {
	case err == nil:
		p.read(head, at)
		if pos := r.runner.Position(); pos < head {
			r.runner.Wake() // e.g. another instance committed: no need to wait for the poll
		} else {
			p.reached(pos)
		}
		p.failing = false
	case ctx.Err() == nil && !p.failing:
		r.opts.Logger.Warn("heartbeat: cannot read the log head; caughtUpAt stays put", "err", err)
		p.failing = true
	}
	// The runner knows too, from its own reads (while events keep coming,
	// its reads are fresher than the heads read here).
	if c := r.runner.CaughtUpAt(); c.After(p.caughtUp) {
		p.caughtUp = c
	}
	if p.caughtUp.IsZero() || !r.nc.IsConnected() {
		return
	}
	pos := r.runner.Position()
	hb := Heartbeat{Position: pos, Head: max(p.head, pos), CaughtUpAt: p.caughtUp.UTC(), At: time.Now().UTC()}
	if err := r.nc.Publish(wire.SubjectHeartbeat, encode(hb)); err != nil {
		r.opts.Logger.Warn("heartbeat", "err", err)
	}
}
