package consumer

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// Source is what a Runner consumes: the log, a checkpoint table and a
// commit signal. Both stores (pgstore and sqlitestore) implement it.
type Source interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error)
	LoadCheckpoint(ctx context.Context, name string) (int64, error)
	// SaveCheckpoint stores position unless the stored one is already
	// further: checkpoints only move forward.
	SaveCheckpoint(ctx context.Context, name string, position int64) error
	Subscribe() (<-chan struct{}, func())
}

// Handler consumes events in position order. It returns the position of the
// last event it fully handled (0 if none), even when it also returns an
// error, so the checkpoint never passes an event that was not handled.
type Handler func(ctx context.Context, events []eventstore.Recorded) (handled int64, err error)

// Runner is a checkpointed, asynchronous consumer of the log. It is woken
// in-process after each commit and polls slowly as a fallback (for commits
// made by other processes).
type Runner struct {
	Name      string        // checkpoint name; required
	Source    Source        // required
	Handle    Handler       // required
	BatchSize int           // events per read; default 500
	Poll      time.Duration // fallback poll interval; default 1s
	Backoff   time.Duration // wait after an error; default 1s
	Logger    *slog.Logger  // default slog.Default()
	// Loaded, if set, is called by every Run once the checkpoint is
	// loaded, with its position, before the first read. Until then
	// Position may be another run's.
	Loaded func(position int64)
	// SaveEvery, if set, saves the checkpoint at most this often (and
	// when Run ends) instead of after every batch. For a consumer whose
	// replay is harmless: after a crash it handles again up to SaveEvery
	// of events (plus one batch). Zero saves after every batch.
	SaveEvery time.Duration
	// Linger, if set, makes the runner wait this long after a commit
	// wakes it before it reads, so that the commits of that span are read
	// and handled together: one read instead of one per commit. For a
	// consumer whose load matters more than its latency. Wake (another
	// process committed) and the poll read at once.
	Linger time.Duration

	position  atomic.Int64
	saved     int64        // the position last saved; Run's own
	savedAt   time.Time    // when; Run's own
	caughtUp  atomic.Int64 // unix nanoseconds; 0: never
	nudge     chan struct{}
	nudgeOnce sync.Once
}

// Wake makes a waiting Run read at once instead of at its next poll, e.g.
// when the caller has seen the log head move (another process committed).
// It never blocks.
func (r *Runner) Wake() {
	select {
	case r.nudges() <- struct{}{}:
	default:
	}
}

func (r *Runner) nudges() chan struct{} {
	r.nudgeOnce.Do(func() { r.nudge = make(chan struct{}, 1) })
	return r.nudge
}

// CaughtUpAt returns the last instant as of which the runner had handled
// every event recorded before it: the start of its last read that found
// nothing more than it then handled. Zero before the first.
func (r *Runner) CaughtUpAt() time.Time {
	if n := r.caughtUp.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Position returns the position up to which events are handled. The
// stored checkpoint follows within SaveEvery.
func (r *Runner) Position() int64 { return r.position.Load() }

// Run consumes the log until ctx ends. Errors are logged and retried after
// Backoff; Run returns only ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	r.defaults()
	wake, cancel := r.Source.Subscribe()
	defer cancel()
	log := r.Logger.With("consumer", r.Name)

	pos, err := r.Source.LoadCheckpoint(ctx, r.Name)
	for err != nil {
		log.ErrorContext(ctx, "load checkpoint", "err", err)
		if !sleep(ctx, r.Backoff) {
			return ctx.Err()
		}
		pos, err = r.Source.LoadCheckpoint(ctx, r.Name)
	}
	r.position.Store(pos)
	r.saved, r.savedAt = pos, time.Time{}
	if r.Loaded != nil {
		r.Loaded(pos)
	}
	defer r.saveOnExit(ctx, log)
	due := time.NewTimer(time.Hour) // a deferred save falls due
	due.Stop()
	defer due.Stop()
	for {
		n, err := r.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.ErrorContext(ctx, "consume", "position", r.Position(), "err", err)
			if !sleep(ctx, r.Backoff) {
				return ctx.Err()
			}
			continue
		}
		if n == r.BatchSize {
			continue // more is waiting
		}
		var dueC <-chan time.Time
		if r.saved < r.Position() {
			due.Reset(time.Until(r.savedAt.Add(r.SaveEvery)))
			dueC = due.C
		}
		select {
		case <-wake:
			if r.Linger > 0 && !sleep(ctx, r.Linger) {
				return ctx.Err()
			}
		case <-r.nudges():
		case <-time.After(r.Poll):
		case <-dueC:
			if err := r.save(ctx, false); err != nil && ctx.Err() == nil {
				log.ErrorContext(ctx, "save checkpoint", "position", r.Position(), "err", err)
				sleep(ctx, r.Backoff)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		due.Stop()
	}
}

// save stores the handled position if it moved and, unless force, if
// SaveEvery has passed since the last save.
func (r *Runner) save(ctx context.Context, force bool) error {
	pos := r.Position()
	if pos <= r.saved || (!force && time.Since(r.savedAt) < r.SaveEvery) {
		return nil
	}
	if err := r.Source.SaveCheckpoint(ctx, r.Name, pos); err != nil {
		return err
	}
	r.saved, r.savedAt = pos, time.Now()
	return nil
}

// saveOnExit saves what is handled when Run ends (its ctx is done by
// then, so with a short context of its own).
func (r *Runner) saveOnExit(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.save(ctx, true); err != nil {
		log.ErrorContext(ctx, "save checkpoint", "position", r.Position(), "err", err)
	}
}

// step reads and handles one batch and saves the checkpoint (at most every
// SaveEvery).
func (r *Runner) step(ctx context.Context) (int, error) {
	pos := r.Position()
	// Positions follow commit order, so a read that returns fewer events
	// than asked holds everything recorded before it started.
	start := time.Now()
	events, err := r.Source.ReadAll(ctx, pos, r.BatchSize)
	if err != nil {
		return 0, err
	}
	if len(events) == 0 {
		r.caughtUp.Store(start.UnixNano())
		return 0, nil
	}
	handled, herr := r.Handle(ctx, events)
	if handled > pos {
		r.position.Store(handled)
		if err := r.save(ctx, false); err != nil {
			return 0, err
		}
	}
	if herr != nil {
		return 0, herr
	}
	if len(events) < r.BatchSize && handled == events[len(events)-1].Position {
		r.caughtUp.Store(start.UnixNano())
	}
	return len(events), nil
}

func (r *Runner) defaults() {
	if r.BatchSize <= 0 {
		r.BatchSize = 500
	}
	if r.Poll <= 0 {
		r.Poll = time.Second
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
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
