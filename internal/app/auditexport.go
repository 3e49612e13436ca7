package app

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
)

// AuditSource is what an audit export reads: the events and their
// personal data (an *Audit, or Redacting of one).
type AuditSource interface {
	Events(ctx context.Context, f AuditFilter, fn func(*Event) error) error
	Reveal(ctx context.Context, recs []Event) ([]Personal, error)
}

// Audit export media types.
const (
	MediaNDJSON = "application/x-ndjson"
	MediaCSV    = "text/csv"
)

// exportChunk is how many rows an export holds at a time.
const exportChunk = 500

// ExportAudit writes every event matching f to w as NDJSON (MediaNDJSON)
// or CSV (MediaCSV), in chunks: personal data is looked up once a chunk and
// memory stays bounded by the chunk however many events match. start runs
// before the first byte, afterChunk after each chunk is written. It
// returns the number of rows written.
func ExportAudit(ctx context.Context, src AuditSource, f AuditFilter, format string, w io.Writer, start, afterChunk func() error) (int, error) {
	var (
		write   func(*Event, Personal) error
		flush   func() error
		header  = func() error { return nil }
		started bool
		rows    int
		chunk   []Event
	)
	if format == MediaCSV {
		cw := csv.NewWriter(w)
		header = func() error { return cw.Write(AuditCSVHeader) }
		write = func(e *Event, p Personal) error { return cw.Write(AuditCSVRow(e, p)) }
		flush = func() error { cw.Flush(); return cw.Error() }
	} else {
		enc := json.NewEncoder(w)
		write = func(e *Event, p Personal) error { return enc.Encode(AuditEventOf(e, p)) }
		flush = func() error { return nil }
	}
	begin := func() error {
		started = true
		if err := start(); err != nil {
			return err
		}
		return header()
	}
	emit := func() error {
		personal, err := src.Reveal(ctx, chunk)
		if err != nil {
			return err
		}
		for i := range chunk {
			if err := write(&chunk[i], personal[i]); err != nil {
				return err
			}
		}
		rows += len(chunk)
		chunk = chunk[:0]
		if err := flush(); err != nil {
			return err
		}
		return afterChunk()
	}
	err := src.Events(ctx, f, func(e *Event) error {
		if !started {
			if err := begin(); err != nil {
				return err
			}
		}
		chunk = append(chunk, *e)
		if len(chunk) == exportChunk {
			return emit()
		}
		return nil
	})
	if err == nil && !started {
		err = begin()
	}
	if err == nil {
		err = emit()
	}
	return rows, err
}
