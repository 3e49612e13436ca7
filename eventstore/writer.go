package eventstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Request is one Append waiting for a Writer.
type Request struct {
	Appends []StreamAppend
	// Fast: every event id was generated here (so none can be recorded
	// already), every stream has an exact expected version and no append
	// has a precondition.
	Fast bool
	done chan result
	// state settles who owns a queued request: the writer takes it into
	// a batch (queued → taken) or its caller gives up (queued →
	// abandoned), never both.
	state atomic.Int32
}

// Request states.
const (
	queued int32 = iota
	taken
	abandoned
)

// take claims a queued request for a batch; false means its caller has
// gone and it must not be committed.
func (r *Request) take() bool { return r.state.CompareAndSwap(queued, taken) }

// abandon withdraws a request that no batch has taken yet; false means
// the writer has it.
func (r *Request) abandon() bool { return r.state.CompareAndSwap(queued, abandoned) }

type result struct {
	recs []Recorded
	err  error
}

// Reply answers the request's Append.
func (r *Request) Reply(recs []Recorded, err error) {
	r.done <- result{recs: recs, err: err}
}

// CommitFunc records a batch in one transaction. It returns nil only after
// replying to every request; on error nothing was recorded and nobody was
// replied to.
type CommitFunc func(batch []*Request) error

// Writer is a store's single writer: group commit. It takes the first
// waiting request, adds every other request already queued (no waiting),
// and commits them together, so concurrent appends share one transaction
// and one flush.
type Writer struct {
	commit   CommitFunc
	maxBatch int
	reqs     chan *Request
	stop     chan struct{}
	stopped  chan struct{}
	once     sync.Once
}

// StartWriter starts a writer goroutine that commits batches of at most
// maxBatch requests with commit.
func StartWriter(maxBatch int, commit CommitFunc) *Writer {
	w := &Writer{
		commit:   commit,
		maxBatch: maxBatch,
		reqs:     make(chan *Request, maxBatch),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go w.loop()
	return w
}

// Append validates appends (Prepare), queues them and waits for the
// writer's answer.
//
// When ctx ends first, Append returns at once. If the request was still
// queued it is withdrawn and never committed: the error is ctx.Err() and
// nothing was recorded. If a batch had already taken it, its fate is
// being decided and the error wraps ErrOutcomeUnknown (and ctx.Err()).
func (w *Writer) Append(ctx context.Context, appends ...StreamAppend) ([]Recorded, error) {
	prepared, fast, err := Prepare(appends)
	if err != nil {
		return nil, err
	}
	req := &Request{Appends: prepared, Fast: fast, done: make(chan result, 1)}
	select {
	case <-w.stop:
		return nil, ErrClosed
	default:
	}
	select {
	case w.reqs <- req:
	case <-w.stop:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.recs, res.err
	case <-w.stopped:
		select {
		case res := <-req.done:
			return res.recs, res.err
		default:
			req.abandon()
			return nil, ErrClosed
		}
	case <-ctx.Done():
		if req.abandon() {
			return nil, ctx.Err() // dropped from the queue: never committed
		}
		// A batch holds it: it may commit after we answer. A retry with
		// the same event ids is safe.
		return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, ctx.Err())
	}
}

// Queued returns how many requests wait for a batch.
func (w *Writer) Queued() int { return len(w.reqs) }

// Close commits every request already queued (except those whose callers
// have gone), then stops the writer; Appends after Close fail with
// ErrClosed. It is safe to call more than once.
func (w *Writer) Close() {
	w.once.Do(func() { close(w.stop) })
	<-w.stopped
}

func (w *Writer) loop() {
	defer close(w.stopped)
	batch := make([]*Request, 0, w.maxBatch)
	for {
		select {
		case r := <-w.reqs:
			if !r.take() {
				continue // its caller has gone: drop it
			}
			batch = append(batch[:0], r)
		case <-w.stop:
			w.drain()
			return
		}
	fill:
		for len(batch) < w.maxBatch {
			select {
			case r := <-w.reqs:
				if r.take() {
					batch = append(batch, r)
				}
			default:
				break fill
			}
		}
		w.run(batch)
	}
}

// drain commits what was queued before Close.
func (w *Writer) drain() {
	for {
		select {
		case r := <-w.reqs:
			if r.take() {
				w.run([]*Request{r})
			}
		default:
			return
		}
	}
}

// run commits a batch. If the batch's transaction fails as a whole and it
// held more than one request, each request is retried on its own so that
// one bad request cannot fail its neighbours — unless the store could not
// be reached or the outcome is unknown, where a retry would only wait
// again.
func (w *Writer) run(batch []*Request) {
	err := w.commit(batch)
	if err == nil {
		return
	}
	if len(batch) > 1 && !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrOutcomeUnknown) {
		for _, r := range batch {
			if err := w.commit([]*Request{r}); err != nil {
				r.Reply(nil, err)
			}
		}
		return
	}
	for _, r := range batch {
		r.Reply(nil, err)
	}
}

// Outcome is what one request of a planned batch gets once it commits.
type Outcome struct {
	Recs []Recorded
	Err  error
	New  bool // the request records new events (not a replay, not refused)
}

// PersonalOf returns the personal data of the requests that record new
// events, for the store to write in the same transaction.
func PersonalOf(batch []*Request, outs []Outcome) []PersonalItem {
	var items []PersonalItem
	for i, r := range batch {
		if outs[i].New {
			for _, sa := range r.Appends {
				items = append(items, sa.Personal...)
			}
		}
	}
	return items
}

// Committed finishes a batch once its transaction has committed: it
// reports the transaction to o.Observe, answers every request, and wakes
// the subscribers if events were recorded.
func (n *Notifier) Committed(o Options, batch []*Request, outs []Outcome, events int, start time.Time) {
	if events > 0 && o.Observe != nil {
		o.Observe(events, time.Since(start))
	}
	for i, r := range batch {
		r.Reply(outs[i].Recs, outs[i].Err)
	}
	if events > 0 {
		n.Notify()
	}
}
