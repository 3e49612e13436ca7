// Package sqlitestore is the embedded event store: the same log, hash
// chain, read model and checkpoints as pgstore, in one SQLite file (WAL
// mode, synchronous=FULL, so a returned Append is durable). Appends are
// serialized by SQLite's write lock (BEGIN IMMEDIATE), which also orders
// several processes or Store values on one file.
//
// It depends on eventstore and the SQLite driver only; never on domain or
// projections (the read model's statements come in through Options).
package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/sessiond/sessiond/eventstore"
)

// Options tune a Store.
type Options = eventstore.Options

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	opts   Options
	writer *eventstore.Writer
	eventstore.Notifier
}

// Open opens (creating if needed) the database file at path. It does not
// migrate: see migrations.UpSQLite.
func Open(path string, opts Options) (*Store, error) {
	db, err := OpenDB(path)
	if err != nil {
		return nil, err
	}
	return New(db, opts), nil
}

// New starts a store on db, which must come from OpenDB. Close stops the
// writer and closes db.
func New(db *sql.DB, opts Options) *Store {
	s := &Store{db: db, opts: opts.WithDefaults()}
	s.writer = eventstore.StartWriter(s.opts.MaxBatch, s.commit)
	return s
}

// DB returns the store's database handle.
func (s *Store) DB() *sql.DB { return s.db }

// Append records the events of every given stream in one atomic step, each
// stream checked against its expected version, and returns the recorded
// events in the order given. A version clash is a *eventstore.ConflictError;
// repeating an append whose event ids are all recorded is a no-op that
// returns the originals. When Append returns nil the events are durable.
func (s *Store) Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error) {
	return s.writer.Append(ctx, appends...)
}

// Close finishes every queued append, stops the writer and closes the
// database. It is safe to call more than once.
func (s *Store) Close() error {
	s.writer.Close()
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return Classify(fmt.Errorf("ping: %w", err))
	}
	return nil
}
