package ssf

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Log is what the transmitter reads: the event log, its checkpoints and
// its commit signal. Both stores implement it.
type Log interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error)
	ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error)
	LoadCheckpoint(ctx context.Context, name string) (int64, error)
	SaveCheckpoint(ctx context.Context, name string, position int64) error
	Subscribe() (<-chan struct{}, func())
	Head(ctx context.Context) (int64, []byte, error)
}

// Recorder records what the transmitter decides on its own: a SET refused
// for good and, when pause is set, pausing the stream (app.SSF).
type Recorder interface {
	RecordFailure(ctx context.Context, f domain.SSFDeliveryFailed, pause bool, reason string) error
}

// Elect tries once to become the pushing instance; if it wins it runs fn
// until ctx ends or leadership is lost, and returns true.
type Elect func(ctx context.Context, fn func(context.Context)) (bool, error)

// Options configure a Transmitter.
type Options struct {
	Issuer        string // iss of SETs; also the base of every SSF URL
	SubjectIssuer string // iss of iss_sub user subjects (the token issuer); default Issuer
	UserFormat    string // UserIssSub (default), UserOpaque or UserEmail
	Client        *http.Client
	RetryMin      time.Duration // first retry after a transient push failure; default 500ms
	RetryMax      time.Duration // longest wait between retries; default 1m
	LongPoll      time.Duration // longest a poll waits for events; default 15s
	Refresh       time.Duration // registry and log poll interval; default 1s
	Logger        *slog.Logger
}

// Transmitter delivers SETs to every SSF stream.
type Transmitter struct {
	log   Log
	keys  *Keys
	rec   Recorder
	elect Elect
	opts  Options
	build builder
	slog  *slog.Logger

	snap    atomic.Pointer[snapshot]
	refresh sync.Mutex

	changed chan struct{} // Changed: reload the registry now

	pollMu sync.Mutex
	polls  map[string]*pollState
	leader atomic.Bool
}

// snapshot is the registry at one moment; changed is closed when a newer
// one exists.
type snapshot struct {
	reg     *domain.SSFRegistry
	recs    []eventstore.Recorded
	changed chan struct{}
}

// New returns a transmitter; Run starts pushing.
func New(log Log, keys *Keys, rec Recorder, elect Elect, o Options) *Transmitter {
	if o.SubjectIssuer == "" {
		o.SubjectIssuer = o.Issuer
	}
	if o.UserFormat == "" {
		o.UserFormat = UserIssSub
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Client.CheckRedirect == nil {
		c := *o.Client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		o.Client = &c
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Minute
	}
	if o.LongPoll <= 0 {
		o.LongPoll = 15 * time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	t := &Transmitter{log: log, keys: keys, rec: rec, elect: elect, opts: o, slog: o.Logger, polls: map[string]*pollState{},
		changed: make(chan struct{}, 1),
		build:   builder{issuer: o.Issuer, subjectIssuer: o.SubjectIssuer, userFormat: o.UserFormat}}
	t.snap.Store(&snapshot{reg: domain.NewSSFRegistry(), changed: make(chan struct{})})
	return t
}

// Keys returns the signing keys.
func (t *Transmitter) Keys() *Keys { return t.keys }

// IsLeader reports whether this instance pushes now.
func (t *Transmitter) IsLeader() bool { return t.leader.Load() }

// Run refreshes the registry and competes for leadership until ctx ends;
// the leader pushes every push stream.
func (t *Transmitter) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); t.watchRegistry(ctx) }()
	for ctx.Err() == nil {
		won, err := t.elect(ctx, t.lead)
		if err != nil && ctx.Err() == nil {
			t.slog.Warn("ssf election", "err", err)
		}
		if !won {
			sleep(ctx, t.opts.Refresh)
		}
	}
	wg.Wait()
}

// current returns the newest registry snapshot.
func (t *Transmitter) current() *snapshot { return t.snap.Load() }

// reload reads the registry from the log and publishes it if it changed.
func (t *Transmitter) reload(ctx context.Context) (*snapshot, error) {
	t.refresh.Lock()
	defer t.refresh.Unlock()
	old := t.current()
	recs, err := t.log.ReadStream(ctx, domain.SSFStreamsStream)
	if err != nil {
		return old, err
	}
	if len(recs) == len(old.recs) {
		return old, nil
	}
	reg := domain.NewSSFRegistry()
	for _, rec := range recs {
		e, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			return old, err
		}
		if err := reg.Apply(e, rec.Position, rec.StreamVersion); err != nil {
			return old, err
		}
	}
	s := &snapshot{reg: reg, recs: recs, changed: make(chan struct{})}
	t.snap.Store(s)
	close(old.changed)
	return s, nil
}

// Changed tells the transmitter that this process changed a stream: it
// reloads the registry at once (changes by other instances are seen
// within Refresh).
func (t *Transmitter) Changed() {
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// watchRegistry reloads the registry after Changed and every Refresh; it
// does not read on every commit, so revocations cost it nothing.
func (t *Transmitter) watchRegistry(ctx context.Context) {
	wake := t.changed
	tick := time.NewTicker(t.opts.Refresh)
	defer tick.Stop()
	for {
		if _, err := t.reload(ctx); err != nil && ctx.Err() == nil {
			t.slog.Warn("ssf registry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// lead runs one push worker per live push stream while leader.
func (t *Transmitter) lead(ctx context.Context) {
	t.leader.Store(true)
	leaderGauge.Set(1)
	t.slog.Info("ssf transmitter leader: pushing SETs")
	type worker struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	workers := map[string]*worker{}
	defer func() {
		for _, w := range workers {
			w.cancel()
			<-w.done
		}
		t.leader.Store(false)
		leaderGauge.Set(0)
	}()
	for {
		snap := t.current()
		live := map[string]bool{}
		for _, st := range snap.reg.Streams() {
			if st.Config.Delivery.Method != domain.DeliveryPush {
				continue
			}
			live[st.Config.StreamID] = true
			if w := workers[st.Config.StreamID]; w != nil {
				select {
				case <-w.done: // ended on its own (deleted); restart only if live again
				default:
					continue
				}
			}
			wctx, cancel := context.WithCancel(ctx)
			w := &worker{cancel: cancel, done: make(chan struct{})}
			workers[st.Config.StreamID] = w
			go func(id string) {
				defer close(w.done)
				t.push(wctx, id)
			}(st.Config.StreamID)
		}
		for id, w := range workers {
			if !live[id] {
				w.cancel()
				<-w.done
				delete(workers, id)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-snap.changed:
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
