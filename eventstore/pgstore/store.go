package pgstore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
)

// appendLockKey is the advisory lock every append transaction takes.
const appendLockKey int64 = 0x5e55_10d0_0000_0002

// Options tune a Store.
type Options = eventstore.Options

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options

	writer *eventstore.Writer
	eventstore.Notifier

	// head is the log head as of this process's last commit; only the
	// writer goroutine touches it.
	head head
}

// head is what the writer knows of the end of the log.
type head struct {
	known bool
	pos   int64
	hash  []byte
	at    time.Time
}

// New starts a store on pool. Close stops its writer; the pool stays the
// caller's.
func New(pool *pgxpool.Pool, opts Options) *Store {
	opts = opts.WithDefaults()
	s := &Store{
		pool: pool,
		opts: opts,
	}
	s.writer = eventstore.StartWriter(opts.MaxBatch, s.tryCommit)
	return s
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close finishes every append already queued, then stops the writer.
// Appends after Close fail with eventstore.ErrClosed. It is safe to call
// more than once.
func (s *Store) Close() error {
	s.writer.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return classify(err, nil)
	}
	return nil
}
