package eventstore

import (
	"context"
	"fmt"
)

// verifyBatch is how many events VerifyLog reads at a time.
const verifyBatch = 1000

// LogReader is what VerifyLog reads: the head, and the log in position
// order from a position on.
type LogReader interface {
	Head(ctx context.Context) (int64, []byte, error)
	ReadAll(ctx context.Context, after int64, limit int) ([]Recorded, error)
}

// VerifyLog walks the log from position from to position to (inclusive;
// 0 means the head when the walk starts) and recomputes the hash chain,
// reading in batches so memory stays flat however long the log is. Every
// break is reported in the result (Broken is the first), not as an error.
// Every store's Verify is this walk.
func VerifyLog(ctx context.Context, log LogReader, from, to int64) (VerifyResult, error) {
	return WalkLog(ctx, log, from, to, nil)
}

// WalkLog is VerifyLog that also hands each event read to visit (nil:
// none), so one pass over the log can serve several checks.
func WalkLog(ctx context.Context, log LogReader, from, to int64, visit func(*Recorded) error) (VerifyResult, error) {
	if from < 1 {
		from = 1
	}
	if to <= 0 {
		head, _, err := log.Head(ctx)
		if err != nil {
			return VerifyResult{}, err
		}
		to = head
	}
	prev := GenesisHash
	if from > 1 {
		recs, err := log.ReadAll(ctx, from-2, 1)
		if err != nil {
			return VerifyResult{}, err
		}
		if len(recs) == 0 || recs[0].Position != from-1 {
			b := Break{Position: from - 1, Kind: BreakMissing, From: from - 1, To: from - 1, Reason: fmt.Sprintf("position %d is missing", from-1)}
			return VerifyResult{From: from, Broken: &b, Breaks: []Break{b}}, nil
		}
		prev = recs[0].Hash
	}
	w := NewFullWalker(from, prev)
	for after := from - 1; after < to; {
		recs, err := log.ReadAll(ctx, after, verifyBatch)
		if err != nil {
			return VerifyResult{}, err
		}
		for i := range recs {
			if recs[i].Position > to {
				return w.Finish(to), nil
			}
			w.Step(&recs[i])
			if visit != nil {
				if err := visit(&recs[i]); err != nil {
					return VerifyResult{}, err
				}
			}
		}
		if len(recs) < verifyBatch {
			break
		}
		after = recs[len(recs)-1].Position
	}
	return w.Finish(to), nil
}
