package eventstore

import "errors"

// StartFunc sends a batch's transaction without waiting for it. ok false
// means the batch cannot be sent ahead now (the writer then lets every
// batch in flight settle and commits it with its CommitFunc). Otherwise
// wait, called once on another goroutine, waits for the transaction and
// then behaves as a CommitFunc: nil only after replying to every request.
//
// A store may send a batch while an earlier one is still in flight only
// if its transaction cannot commit unless every earlier one did: it is
// planned from the head the earlier batches will leave and must check, in
// the database and under the append lock, that the log ends there. If
// not, wait returns ErrReplan and nothing of the batch is recorded.
type StartFunc func(batch []*Request) (wait func() error, ok bool)

// ErrReplan is a pipelined batch refused because the log did not end
// where it was planned to follow (an earlier batch failed, or another
// writer appended): nothing was recorded, and the batch can be committed
// again, planned from the log as it is.
var ErrReplan = errors.New("eventstore: batch planned on a head that is not the log's; plan it again")

// flight is a batch sent ahead, settling on its own goroutine.
type flight struct {
	batch []*Request
	done  chan struct{}
	err   error
}

func fly(batch []*Request, wait func() error) *flight {
	f := &flight{batch: batch, done: make(chan struct{})}
	go func() {
		f.err = wait()
		close(f.done)
	}()
	return f
}

// settle takes the oldest batch in flight, which has settled. If it
// failed, every later batch is waited for too (they were planned on its
// head), and each failed batch is handled in order, one at a time:
// committed again from the log as it is (ErrReplan), or as run handles a
// failure. It returns the batches still in flight.
func (w *Writer) settle(flying []*flight) []*flight {
	if flying[0].err == nil {
		return flying[1:]
	}
	return w.settleAll(flying)
}

// settleAll waits for every batch in flight and handles the failed ones
// in order (see settle).
func (w *Writer) settleAll(flying []*flight) []*flight {
	for _, f := range flying {
		<-f.done
	}
	for _, f := range flying {
		switch {
		case f.err == nil:
		case errors.Is(f.err, ErrReplan):
			w.run(f.batch)
		default:
			w.failed(f.batch, f.err)
		}
	}
	return nil
}
