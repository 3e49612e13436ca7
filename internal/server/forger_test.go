package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
)

// forger changes a stopped sessiond's database the way its superuser
// could: triggers off, any row rewritten, on either store.
type forger struct {
	t  *testing.T
	s  *testServer
	db *sql.DB // the embedded store's file, when s.DB is empty
}

func newForger(t *testing.T, s *testServer) *forger {
	t.Helper()
	f := &forger{t: t, s: s}
	if s.DB == "" {
		db, err := sqlitestore.OpenDB(filepath.Join(s.Data, "sessiond.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		for _, q := range []string{`DROP TRIGGER IF EXISTS events_append_only_update`, `DROP TRIGGER IF EXISTS events_append_only_delete`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		f.db = db
	}
	return f
}

// exec runs one statement per store: pg on PostgreSQL, lite on SQLite.
func (f *forger) exec(pg, lite string, args ...any) {
	f.t.Helper()
	if f.db == nil {
		superuser(f.t, f.s.Pool, func(tx pgx.Tx) { sqlExec(f.t, tx, pg, args...) })
		return
	}
	if _, err := f.db.Exec(lite, args...); err != nil {
		f.t.Fatalf("%s: %v", lite, err)
	}
}

// events reads the whole log.
func (f *forger) events() []eventstore.Recorded {
	f.t.Helper()
	ctx := context.Background()
	var recs []eventstore.Recorded
	if f.db == nil {
		rows, err := f.s.Pool.Query(ctx, `SELECT position, stream_id, stream_version, event_id, type, data::text, metadata::text, recorded_at FROM events ORDER BY position`)
		if err != nil {
			f.t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r eventstore.Recorded
			var data, meta string
			if err := rows.Scan(&r.Position, &r.StreamID, &r.StreamVersion, &r.EventID, &r.Type, &data, &meta, &r.RecordedAt); err != nil {
				f.t.Fatal(err)
			}
			r.Data, r.Metadata = []byte(data), []byte(meta)
			recs = append(recs, r)
		}
		return recs
	}
	rows, err := f.db.Query(`SELECT position, stream_id, stream_version, event_id, type, data, metadata, recorded_at FROM events ORDER BY position`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r eventstore.Recorded
		var id, data, meta, at string
		if err := rows.Scan(&r.Position, &r.StreamID, &r.StreamVersion, &id, &r.Type, &data, &meta, &at); err != nil {
			f.t.Fatal(err)
		}
		r.EventID = uuid.MustParse(id)
		r.Data, r.Metadata = []byte(data), []byte(meta)
		r.RecordedAt, _ = time.Parse(eventstore.TimeFormat, at)
		recs = append(recs, r)
	}
	return recs
}

// rewrite replaces the whole log with recs, renumbered from 1, after fix
// (if any) has seen each one; the chain is recomputed, so it verifies.
// fix gets the recomputed hash of every earlier position.
func (f *forger) rewrite(recs []eventstore.Recorded, fix func(r *eventstore.Recorded, hashAt func(int64) []byte)) {
	f.t.Helper()
	hashes := map[int64][]byte{}
	prev := eventstore.GenesisHash
	for i := range recs {
		r := &recs[i]
		r.Position = int64(i + 1)
		if fix != nil {
			fix(r, func(p int64) []byte { return hashes[p] })
		}
		r.PrevHash = prev
		h, err := eventstore.ComputeHash(prev, r)
		if err != nil {
			f.t.Fatal(err)
		}
		r.Hash, prev, hashes[r.Position] = h, h, h
	}
	if f.db == nil {
		superuser(f.t, f.s.Pool, func(tx pgx.Tx) {
			sqlExec(f.t, tx, `DELETE FROM events`)
			for _, r := range recs {
				sqlExec(f.t, tx, `INSERT INTO events (position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10)`, r.Position, r.StreamID, r.StreamVersion, r.EventID, r.Type, string(r.Data), string(r.Metadata), r.RecordedAt, r.PrevHash, r.Hash)
			}
		})
		return
	}
	tx, err := f.db.Begin()
	if err != nil {
		f.t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM events`); err != nil {
		f.t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := tx.Exec(`INSERT INTO events (position, stream_id, stream_version, event_id, type, data, metadata, recorded_at, prev_hash, hash)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Position, r.StreamID, r.StreamVersion, r.EventID.String(), r.Type, string(r.Data), string(r.Metadata),
			r.RecordedAt.UTC().Format(eventstore.TimeFormat), r.PrevHash, r.Hash); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
}
