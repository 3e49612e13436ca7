package eventstore

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Request is one Append waiting for a Writer.
type Request struct {
	Appends []StreamAppend
	// Fast: every event id was generated here (so none can be recorded
	// already) and every stream has an exact expected version.
	Fast bool
	done chan result
}

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
			return nil, ErrClosed
		}
	case <-ctx.Done():
		// The writer may still commit it; a retry with the same event
		// ids is safe.
		return nil, ctx.Err()
	}
}

// Close commits every request already queued, then stops the writer. It
// is safe to call more than once.
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
			batch = append(batch[:0], r)
		case <-w.stop:
			w.drain()
			return
		}
	fill:
		for len(batch) < w.maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
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
			w.run([]*Request{r})
		default:
			return
		}
	}
}

// run commits a batch. If the batch's transaction fails as a whole and it
// held more than one request, each request is retried on its own so that
// one bad request cannot fail its neighbours.
func (w *Writer) run(batch []*Request) {
	err := w.commit(batch)
	if err == nil {
		return
	}
	if len(batch) > 1 && !errors.Is(err, ErrUnavailable) {
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

// PlanBatch plans every request of batch, in order.
func (p *Planner) PlanBatch(batch []*Request) []Outcome {
	out := make([]Outcome, len(batch))
	for i, r := range batch {
		before := p.LastPos
		out[i].Recs, out[i].Err = p.Add(r.Appends)
		out[i].New = out[i].Err == nil && p.LastPos > before
	}
	return out
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
