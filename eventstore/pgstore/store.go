package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
)

// appendLockKey is the advisory lock every append transaction takes.
const appendLockKey int64 = 0x5e55_10d0_0000_0002

// pipelineDepth is how many batches the writer has in flight at most: one
// committing, the next sent and waiting for the append lock.
const pipelineDepth = 2

// Options tune a Store.
type Options = eventstore.Options

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options

	writer *eventstore.Writer
	eventstore.Notifier

	// head is where the log will end once the batches this process has
	// sent commit; known is false after any failure, until a transaction
	// reads the head again.
	headMu sync.Mutex
	head   head
}

func (s *Store) knownHead() head {
	s.headMu.Lock()
	defer s.headMu.Unlock()
	return s.head
}

func (s *Store) setHead(h head) {
	s.headMu.Lock()
	s.head = h
	s.headMu.Unlock()
}

func (s *Store) forgetHead() {
	s.headMu.Lock()
	s.head.known = false
	s.headMu.Unlock()
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
	s.writer = eventstore.StartPipelinedWriter(opts.MaxBatch, pipelineDepth, s.tryCommit, s.startCommit)
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
