package eventstore

import (
	"log/slog"
	"time"
)

// Options tune a store. The zero value is usable.
type Options struct {
	// Projector runs inside every append transaction, so the read model
	// is consistent with the log as soon as Append returns.
	Projector Projector
	// Queries resolves the queries of append preconditions on this
	// store's read model. Without it, an append with a precondition fails
	// with ErrInvalidAppend.
	Queries QueryFunc
	// Clock stamps recorded_at. Defaults to time.Now.
	Clock func() time.Time
	// MaxBatch caps the requests one transaction carries. Default 512.
	MaxBatch int
	// TxTimeout bounds one append transaction. Default 10s.
	TxTimeout time.Duration
	// Observe, if set, is called after each committed transaction with the
	// number of events it carried and how long it took.
	Observe func(events int, took time.Duration)
	// Logger receives the store's own log lines. Default slog.Default().
	Logger *slog.Logger
}

// WithDefaults fills in the unset options.
func (o Options) WithDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 512
	}
	if o.TxTimeout <= 0 {
		o.TxTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
