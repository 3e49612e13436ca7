package faults_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/projections"
)

// faultKind names a fault the nemesis injects.
type faultKind string

const (
	killReplica     faultKind = "kill -9 replica"
	killLeader      faultKind = "kill -9 relay leader"
	pgRestart       faultKind = "PostgreSQL restart"
	pgBlackhole     faultKind = "PostgreSQL blackhole"
	pgLongBlackhole faultKind = "PostgreSQL blackhole past the request deadline"
	natsBlackhole   faultKind = "NATS blackhole"
	natsRestart     faultKind = "NATS restart"
	verifierRestart faultKind = "verifier restart"
	verifierCut     faultKind = "verifier NATS blackhole"
	slowNetwork     faultKind = "slow network"
	rebuild         faultKind = "projection rebuild"
	clockJump       faultKind = "clock jump"
)

var allFaults = []faultKind{killReplica, killLeader, pgRestart, pgBlackhole, natsBlackhole, natsRestart,
	verifierRestart, verifierCut, slowNetwork, rebuild, clockJump}

// Clock jumps move a verifier's clock by 1 s to maxJump, forward or back:
// often past the 2 s staleness bound.
const (
	minJump = time.Second
	maxJump = 10 * time.Second
)

// fault is one step of a schedule: after Gap, inject Kind on Target for
// Hold, then heal.
type fault struct {
	Gap     time.Duration
	Kind    faultKind
	Target  int // a replica or verifier index; -1 for all replicas
	Hold    time.Duration
	Latency time.Duration
	Crash   bool          // PostgreSQL restart: immediate (crash) rather than fast
	Jump    time.Duration // clock jump: how far the verifier's clock moves (negative: back)
	Cut     bool          // clock jump: the verifier's feed is cut for the hold too
}

func (f fault) String() string {
	s := string(f.Kind)
	switch f.Kind {
	case killReplica, pgBlackhole, pgLongBlackhole, natsBlackhole, slowNetwork:
		if f.Target < 0 {
			s += " (all replicas)"
		} else {
			s += fmt.Sprintf(" (replica %d)", f.Target)
		}
	case verifierRestart, verifierCut:
		s += fmt.Sprintf(" (verifier %d)", f.Target)
	case clockJump:
		s += fmt.Sprintf(" (verifier %d) %+v", f.Target, f.Jump)
		if f.Cut {
			s += ", feed cut"
		}
	case pgRestart:
		if f.Crash {
			s += " (immediate)"
		} else {
			s += " (fast)"
		}
	}
	if f.Kind == slowNetwork {
		s += fmt.Sprintf(" +%v", f.Latency)
	}
	return fmt.Sprintf("%s for %v", s, f.Hold)
}

// schedule draws n faults from seed: the same seed gives the same faults,
// targets, holds and gaps. long adds a PostgreSQL blackhole that outlasts
// the 10 s request deadline (for longer runs).
func schedule(seed uint64, n, replicas, verifiers int, long bool) []fault {
	rng := rand.New(rand.NewPCG(seed, 0x5e55))
	kindsOf := allFaults
	if long {
		kindsOf = append(append([]faultKind(nil), allFaults...), pgLongBlackhole)
	}
	var kinds []faultKind // seeded shuffles of every kind: each appears every len(kindsOf) faults
	for len(kinds) < n {
		p := append([]faultKind(nil), kindsOf...)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		kinds = append(kinds, p...)
	}
	out := make([]fault, n)
	jumps, backs := 0, 0
	for i := range out {
		f := fault{
			Gap:  time.Duration(200+rng.IntN(800)) * time.Millisecond,
			Kind: kinds[i],
			Hold: time.Duration(300+rng.IntN(2200)) * time.Millisecond,
		}
		switch f.Kind {
		case killReplica:
			f.Target = rng.IntN(replicas)
		case pgBlackhole, natsBlackhole, slowNetwork:
			f.Target = rng.IntN(replicas+1) - 1
			f.Latency = time.Duration(20+rng.IntN(300)) * time.Millisecond
		case verifierRestart, verifierCut:
			f.Target = rng.IntN(verifiers)
		case clockJump:
			// Forward and back alternate, odd seeds starting forward, so a
			// short schedule with one jump still covers both ways across
			// seeds; every other jump back also cuts the feed.
			f.Target = rng.IntN(verifiers)
			f.Jump = minJump + time.Duration(rng.Int64N(int64(maxJump-minJump)+1))
			if (seed+uint64(jumps))%2 == 0 {
				f.Jump = -f.Jump
				f.Cut = backs%2 == 0
				backs++
			}
			jumps++
		case pgRestart:
			f.Crash = rng.IntN(2) == 0
		case pgLongBlackhole:
			f.Target = rng.IntN(replicas+1) - 1
			f.Hold = time.Duration(11000+rng.IntN(3000)) * time.Millisecond
		}
		out[i] = f
	}
	return out
}

// nemesis injects faults into a running cluster.
type nemesis struct {
	c        *cluster
	edges    []*edge
	injected map[faultKind]int
	windows  []window
}

// window is one injected fault, in history time, for the visualisation.
type window struct {
	fault      fault
	start, end int64
}

// run plays the schedule until it ends or stop is closed; each fault is
// healed before the next.
func (n *nemesis) run(stop <-chan struct{}, plan []fault) {
	for _, f := range plan {
		if !hold(stop, f.Gap) {
			return
		}
		start := n.c.hist.Now()
		heal := n.inject(f)
		n.injected[f.Kind]++
		hold(stop, f.Hold)
		heal()
		n.windows = append(n.windows, window{fault: f, start: start, end: n.c.hist.Now()})
		n.c.note("healed: %s", f.Kind)
	}
}

// hold waits d, the fault's own timing (not a wait for a condition); it
// reports false if stop closed first.
func hold(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

func (n *nemesis) replicas(target int) []*replica {
	if target < 0 {
		return n.c.reps
	}
	return n.c.reps[target : target+1]
}

// inject applies f and returns what heals it.
func (n *nemesis) inject(f fault) func() {
	c := n.c
	switch f.Kind {
	case killReplica, killLeader:
		target := f.Target
		if f.Kind == killLeader {
			target = -1
			for _, r := range c.reps {
				if r.leader() {
					target = r.id
				}
			}
			if target < 0 {
				c.note("inject: %s: no replica reports leading; killing replica 0", f)
				target = 0
			}
		}
		r := c.reps[target]
		c.note("inject: %s → replica %d", f, target)
		r.kill()
		return r.revive
	case pgRestart:
		c.note("inject: %s", f)
		c.pg.Stop(f.Crash)
		return c.pg.Start
	case pgBlackhole, pgLongBlackhole, natsBlackhole:
		c.note("inject: %s", f)
		rs := n.replicas(f.Target)
		for _, r := range rs {
			if f.Kind == natsBlackhole {
				r.natsProxy.Blackhole()
			} else {
				r.pgProxy.Blackhole()
			}
		}
		if f.Kind == natsBlackhole && f.Target < 0 {
			n.blind(n.edges...) // no sessiond can reach NATS: no heartbeat can be sent
		}
		return func() {
			for _, r := range rs {
				r.pgProxy.Heal()
				r.natsProxy.Heal()
			}
			n.unblind(n.edges...)
		}
	case slowNetwork:
		c.note("inject: %s", f)
		rs := n.replicas(f.Target)
		for _, r := range rs {
			r.pgProxy.SetLatency(f.Latency)
			r.natsProxy.SetLatency(f.Latency)
		}
		return func() {
			for _, r := range rs {
				r.pgProxy.SetLatency(0)
				r.natsProxy.SetLatency(0)
			}
		}
	case natsRestart:
		c.note("inject: %s", f)
		n.blind(n.edges...)
		c.nats.Stop()
		return func() {
			n.unblind(n.edges...)
			c.nats.Restart()
		}
	case verifierRestart:
		e := n.edges[f.Target]
		c.note("inject: %s", f)
		e.close()
		return func() { n.reopen(e) }
	case verifierCut:
		e := n.edges[f.Target]
		c.note("inject: %s", f)
		n.blind(e)
		e.proxy.Blackhole()
		return func() {
			n.unblind(e)
			e.proxy.Heal()
		}
	case clockJump:
		// The verifier's clock moves, held, then comes back. With Cut its
		// feed is cut at the same moment, so nothing it claims after it
		// can be true: a verifier set back must not count the step as
		// freshness (the blind check), one set forward must not drop what
		// a token could still need once the clock is back (the delivery
		// check, on the verifier's clock).
		e := n.edges[f.Target]
		c.note("inject: %s", f)
		if f.Cut {
			n.blind(e)
			e.proxy.Blackhole()
		}
		e.clock.Jump(f.Jump)
		return func() {
			e.clock.Restore()
			if f.Cut {
				n.unblind(e)
				e.proxy.Heal()
			}
		}
	case rebuild:
		c.note("inject: %s", f)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if n, err := rebuildReadModel(ctx, c.db); err != nil {
			c.note("rebuild: %v", err)
		} else {
			c.note("rebuild: replayed %d events", n)
		}
		return func() {}
	}
	panic("unknown fault " + f.Kind)
}

// blind marks the edges' feed as cut from now on (see faults.CheckBlind).
func (n *nemesis) blind(edges ...*edge) {
	now := n.c.hist.Now()
	for _, e := range edges {
		e.blindSince.Store(now)
	}
}

// unblind ends the cut; it is called before the feed is restored.
func (n *nemesis) unblind(edges ...*edge) {
	for _, e := range edges {
		e.blindSince.Store(0)
	}
}

// reopen opens a closed verifier again, retrying while NATS is away.
func (n *nemesis) reopen(e *edge) {
	for i := 0; i < 20; i++ {
		err := e.open(context.Background())
		if err == nil {
			return
		}
		n.c.note("verifier %s: open: %v", e.name, err)
	}
}

// rebuildReadModel empties the read model and replays the log into it,
// under the append lock, while the replicas keep serving.
func rebuildReadModel(ctx context.Context, db string) (int64, error) {
	pool, err := pgxpool.New(ctx, db)
	if err != nil {
		return 0, err
	}
	defer pool.Close()
	s := pgstore.New(pool, pgstore.Options{Projector: projections.Project})
	defer s.Close()
	return s.Rebuild(ctx, projections.Tables)
}
