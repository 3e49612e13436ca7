package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sessiond/sessiond/eventstore"
)

// LogTarget is what an import appends to.
type LogTarget interface {
	Head(ctx context.Context) (int64, []byte, error)
	Import(ctx context.Context, recs []eventstore.Recorded) error
}

// LogImport is what ImportLog did.
type LogImport struct {
	Imported int64 // events appended
	Skipped  int64 // events the store held already
}

// ImportLog appends an export written by ExportLog to the log, verbatim:
// positions, times and hashes are kept, and the export's chain is checked
// line by line. Into a store that already holds the export's first part,
// it resumes after it; a store holding anything else is refused with
// eventstore.ErrImportGap. Once it knows the store's head it calls start,
// if set, for the Progress to tell (events read from the export).
func ImportLog(ctx context.Context, log LogTarget, r io.Reader, start func() Progress) (LogImport, error) {
	var out LogImport
	head, headHash, err := log.Head(ctx)
	if err != nil {
		return out, err
	}
	x := eventstore.NewExportReader(r, 1, eventstore.GenesisHash)
	var p Progress
	if start != nil {
		p = start()
	}
	for {
		p.set(out.Skipped + out.Imported)
		recs, err := x.Next(logBatch)
		if errors.Is(err, io.EOF) {
			p.finish()
			break
		}
		if err != nil {
			return out, err
		}
		for len(recs) > 0 && recs[0].Position <= head { // already here
			if recs[0].Position == head && string(recs[0].Hash) != string(headHash) {
				return out, fmt.Errorf("%w: this store's event %d differs from the export's", eventstore.ErrImportGap, head)
			}
			recs, out.Skipped = recs[1:], out.Skipped+1
		}
		if len(recs) == 0 {
			continue
		}
		if err := log.Import(ctx, recs); err != nil {
			return out, err
		}
		out.Imported += int64(len(recs))
	}
	if out.Skipped < head {
		return out, fmt.Errorf("%w: this store holds %d events the export does not", eventstore.ErrImportGap, head-out.Skipped)
	}
	return out, nil
}

// InputError is input an import cannot take: a line that does not parse,
// or personal data that does not match its reference.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// ImportPersonal stores personal data written by ExportPersonal, checking
// each reference against its salted value so no value can be attached to
// another event's reference. It returns how many items it stored; input
// it cannot take fails with an *InputError.
func ImportPersonal(ctx context.Context, store interface {
	PutPersonal(ctx context.Context, items []eventstore.PersonalItem) error
}, r io.Reader) (int64, error) {
	dec := json.NewDecoder(r)
	var n int64
	batch := make([]eventstore.PersonalItem, 0, logBatch)
	flush := func() error {
		err := store.PutPersonal(ctx, batch)
		n += int64(len(batch))
		batch = batch[:0]
		return err
	}
	for {
		var e eventstore.ExportedPersonal
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return n, &InputError{err}
		}
		it, err := e.Item()
		if err != nil {
			return n, &InputError{err}
		}
		if batch = append(batch, it); len(batch) == logBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}
