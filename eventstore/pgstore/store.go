package pgstore

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
)

// appendLockKey is the advisory lock every append transaction takes.
const appendLockKey int64 = 0x5e55_10d0_0000_0002

// Options tune a Store. The zero value is usable.
type Options struct {
	// Projector runs inside every append transaction, so the read model
	// is consistent with the log as soon as Append returns.
	Projector eventstore.Projector
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

// Store is the PostgreSQL event store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options

	reqs    chan *request
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once

	mu   sync.Mutex
	subs map[chan struct{}]struct{}

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
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.TxTimeout <= 0 {
		opts.TxTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		pool:    pool,
		opts:    opts,
		reqs:    make(chan *request, opts.MaxBatch),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		subs:    make(map[chan struct{}]struct{}),
	}
	go s.writeLoop()
	return s
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close finishes every append already queued, then stops the writer.
// Appends after Close fail with eventstore.ErrClosed. It is safe to call
// more than once.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.stopped
	return nil
}

// Subscribe returns a channel that receives a value after each commit that
// recorded events (coalesced: one pending value at most), and a function to
// cancel the subscription.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}

func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return classify(err, nil)
	}
	return nil
}
