package app

import (
	"context"
	"encoding/json"
	"io"

	"github.com/sessiond/sessiond/eventstore"
)

// logBatch is how many events a log export or import handles at a time.
const logBatch = 1000

// Progress is told how far a long command has come: Set with the events
// done so far, Finish once all are. Either may be nil.
type Progress struct {
	Set    func(done int64)
	Finish func()
}

func (p Progress) set(n int64) {
	if p.Set != nil {
		p.Set(n)
	}
}

func (p Progress) finish() {
	if p.Finish != nil {
		p.Finish()
	}
}

// LogSource is what a verbatim export of the log reads.
type LogSource interface {
	Head(ctx context.Context) (int64, []byte, error)
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Recorded, error)
}

// LogExport is what ExportLog wrote.
type LogExport struct {
	Events   int64  // how many events
	Last     int64  // the position of the last one
	HeadHash []byte // its hash
}

// ExportLog writes the whole log to w as JSON Lines: every column of every
// event, in position order, hashes in hex (eventstore.Export), so that
// ImportLog can restore it verbatim. Once it knows the log's length it
// calls start, if set, for the Progress to tell.
func ExportLog(ctx context.Context, log LogSource, w io.Writer, start func(total int64) Progress) (LogExport, error) {
	var out LogExport
	total, _, err := log.Head(ctx)
	if err != nil {
		return out, err
	}
	var p Progress
	if start != nil {
		p = start(total)
	}
	enc := json.NewEncoder(w)
	for {
		recs, err := log.ReadAll(ctx, out.Last, logBatch)
		if err != nil {
			return out, err
		}
		for i := range recs {
			if err := enc.Encode(eventstore.Export(&recs[i])); err != nil {
				return out, err
			}
			out.Last, out.HeadHash = recs[i].Position, recs[i].Hash
			out.Events++
		}
		p.set(out.Events)
		if len(recs) < logBatch {
			break
		}
	}
	p.finish()
	return out, nil
}

// ExportPersonal writes the personal data kept beside the log to w as
// JSON Lines, for ImportPersonal.
func ExportPersonal(ctx context.Context, store interface {
	EachPersonal(ctx context.Context, fn func(eventstore.PersonalItem) error) error
}, w io.Writer) error {
	enc := json.NewEncoder(w)
	return store.EachPersonal(ctx, func(it eventstore.PersonalItem) error { return enc.Encode(eventstore.ExportPersonal(it)) })
}
