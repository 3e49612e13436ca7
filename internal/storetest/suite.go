// Package storetest is the conformance suite every event store must pass:
// ordering, optimistic concurrency, idempotency, the hash chain, append-only
// enforcement, checkpointed consumers, read-model rebuilds and append
// preconditions on the read model.
//
// It is for tests only. It imports what a store serves: the log core
// (eventstore, eventstore/consumer), domain, the read model (projections)
// and internal/app, and internal/waitfor; never a store itself.
package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/consumer"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/waitfor"
)

// Store is the interface the suite exercises.
type Store interface {
	consumer.Source
	Append(ctx context.Context, appends ...eventstore.StreamAppend) ([]eventstore.Recorded, error)
	ReadStream(ctx context.Context, streamID string) ([]eventstore.Recorded, error)
	ReadEvent(ctx context.Context, id uuid.UUID) (*eventstore.Recorded, error)
	Head(ctx context.Context) (int64, []byte, error)
	Verify(ctx context.Context, from, to int64) (eventstore.VerifyResult, error)
	Rebuild(ctx context.Context, tables []string) (int64, error)
	Import(ctx context.Context, recs []eventstore.Recorded) error
	Query(ctx context.Context, f eventstore.Filter, fn func(*eventstore.Recorded) error) error
	PutPersonal(ctx context.Context, items []eventstore.PersonalItem) error
	LookupPersonal(ctx context.Context, refs []string) (map[string]string, error)
	ErasePersonal(ctx context.Context, e eventstore.Erasure) (int64, error)
	EachPersonal(ctx context.Context, fn func(eventstore.PersonalItem) error) error
}

// Tamperer changes the log behind the store's back, as a superuser who
// disabled the append-only guard would.
type Tamperer interface {
	// SetData replaces the data of the event at pos.
	SetData(t testing.TB, pos int64, data string)
	// Delete removes the event at pos.
	Delete(t testing.TB, pos int64)
	// Insert adds a row verbatim.
	Insert(t testing.TB, r eventstore.Recorded)
	// Swap exchanges the positions of two events.
	Swap(t testing.TB, a, b int64)
	// TryUpdate, TryDelete and TryTruncate attempt the change with the
	// guard in place and return the database's error.
	TryUpdate(t testing.TB, pos int64) error
	TryDelete(t testing.TB, pos int64) error
	TryTruncate(t testing.TB) error
}

// Harness is one fresh, empty, migrated store with its read model.
type Harness struct {
	Store  Store
	Tamper Tamperer
	// DumpReadModel renders every read-model table, rows sorted, so two
	// dumps compare equal exactly when the read models are equal.
	DumpReadModel func(t testing.TB) string
	// Commits counts the append transactions committed so far.
	Commits func() int64
	// Second is another store on the same database, as a second process
	// would open it.
	Second Store
	// Reads is the store's read model, as the service queries it.
	Reads app.Reads
}

// Factory makes a fresh Harness for one test.
type Factory func(t *testing.T) Harness

// Run runs the whole suite against the stores that factory makes.
func Run(t *testing.T, factory Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"AppendRead", testAppendRead},
		{"Conflict", testConflict},
		{"ConflictAtomic", testConflictAtomic},
		{"ConflictRace", testConflictRace},
		{"TwoWriters", testTwoWriters},
		{"Idempotent", testIdempotent},
		{"InvalidInput", testInvalidInput},
		{"GlobalOrderTail", testGlobalOrderTail},
		{"GroupCommit", testGroupCommit},
		{"ChainIntact", testChainIntact},
		{"ChainModified", testChainModified},
		{"ChainDeleted", testChainDeleted},
		{"ChainInserted", testChainInserted},
		{"ChainReordered", testChainReordered},
		{"AppendOnly", testAppendOnly},
		{"Checkpoints", testCheckpoints},
		{"Runner", testRunner},
		{"RunnerRetry", testRunnerRetry},
		{"RunnerWake", testRunnerWake},
		{"Rebuild", testRebuild},
		{"Import", testImport},
		{"AuditFilters", testAuditFilters},
		{"AuditPagination", testAuditPagination},
		{"Personal", testPersonal},
		{"PersonalWithAppend", testPersonalWithAppend},
		{"Precondition", testPrecondition},
		{"RevokeAllRace", testRevokeAllRace},
		{"RevokeAllFirstStart", testRevokeAllFirstStart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, factory(t))
		})
	}
}

// ctx returns a context that ends with the test or after a minute.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// ev builds a proposed event with a small JSON body.
func ev(typ string, fields map[string]any) eventstore.Proposed {
	if fields == nil {
		fields = map[string]any{}
	}
	data, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return eventstore.Proposed{Type: typ, Data: data, Metadata: json.RawMessage(`{"requestId":"test"}`)}
}

// one appends a single event to a stream at an expected version.
func one(stream string, expected int64, e eventstore.Proposed) eventstore.StreamAppend {
	return eventstore.StreamAppend{StreamID: stream, ExpectedVersion: expected, Events: []eventstore.Proposed{e}}
}

func mustAppend(t testing.TB, s Store, appends ...eventstore.StreamAppend) []eventstore.Recorded {
	t.Helper()
	recs, err := s.Append(ctx(t), appends...)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return recs
}

// checkFor waits until fn returns nil, for at most total.
func checkFor(t testing.TB, total, _ time.Duration, fn func() error) {
	t.Helper()
	waitfor.Cond(t, total, fn)
}
