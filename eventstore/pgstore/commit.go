package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
)

const (
	sqlLock  = `SELECT pg_advisory_xact_lock($1)`
	sqlGuard = `SELECT sessiond_expect($1, $2::bytea, $3::text[], $4::bigint[])`
	sqlHead  = `SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1`
	// One index probe per key, whatever the planner thinks of the table.
	sqlVersions = `SELECT s.id, v.version FROM unnest($1::text[]) AS s(id)
CROSS JOIN LATERAL (SELECT max(stream_version) AS version FROM events WHERE stream_id = s.id) v
WHERE v.version IS NOT NULL`
	sqlExisting = `SELECT ` + columns + ` FROM unnest($1::uuid[]) AS u(id)
CROSS JOIN LATERAL (SELECT * FROM events WHERE event_id = u.id LIMIT 1) e`
	sqlInsert = `INSERT INTO events (` + columns + `)
SELECT p, s, v, e, t, d::jsonb, m::jsonb, r, ph, h
FROM unnest($1::bigint[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::bytea[], $10::bytea[])
  AS u(p, s, v, e, t, d, m, r, ph, h)`
)

// tryCommit records batch in one transaction. When the writer knows the
// log head from its own last commit and every request is simple (generated
// event ids, exact expected versions), it takes the fast path: one round
// trip, guarded in the database. If the guard finds the head or a stream
// moved (another process appended, or an expectation is stale), it reads
// the current state and tries again.
//
// When tryCommit returns nil it has replied to every request; otherwise
// nothing was recorded and nobody was replied to.
func (s *Store) tryCommit(batch []*eventstore.Request) error {
	fast := s.head.known
	for _, r := range batch {
		fast = fast && r.Fast
	}
	err := s.transact(batch, fast)
	if fast && isGuardFailure(err) {
		err = s.transact(batch, false)
	}
	return err
}

// transact runs one transaction. The fast path sends BEGIN, the lock, the
// guard, the writes and COMMIT in one pipeline; the slow path first reads
// the head, the streams' versions and already-recorded event ids.
func (s *Store) transact(batch []*eventstore.Request, fast bool) (err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.TxTimeout)
	defer cancel()

	conn, err := acquireLive(ctx, s.pool)
	if err != nil {
		return classify(err, batch)
	}
	defer func() {
		if err != nil {
			s.head.known = false
			abort(conn)
		}
		conn.Release()
	}()

	b := &pgx.Batch{}
	var p *eventstore.Planner
	if fast {
		p = eventstore.NewPlanner(s.opts.Clock())
		p.LastPos, p.PrevHash, p.Assume = s.head.pos, s.head.hash, true
		if s.head.at.After(p.Now) {
			p.Now = s.head.at
		}
		b.Queue("BEGIN")
		b.Queue(sqlLock, appendLockKey)
	} else if p, err = s.loadPlanner(ctx, conn.Conn(), batch); err != nil {
		return classify(err, batch)
	}
	base, baseHash := p.LastPos, p.PrevHash
	replies := p.PlanBatch(batch)
	if len(p.Recs) > 0 {
		if fast {
			streams := make([]string, 0, len(p.Assumed))
			versions := make([]int64, 0, len(p.Assumed))
			for id, v := range p.Assumed {
				streams, versions = append(streams, id), append(versions, v)
			}
			b.Queue(sqlGuard, base, baseHash, streams, versions)
		}
		// One projection over the whole batch: set-based statements.
		var stmts []eventstore.Statement
		if s.opts.Projector != nil {
			if stmts, err = s.opts.Projector(p.Recs); err != nil {
				return fmt.Errorf("project: %w", err)
			}
		}
		b.Queue(sqlInsert, insertArgs(p.Recs)...)
		if items := eventstore.PersonalOf(batch, replies); len(items) > 0 {
			b.Queue(sqlPersonal, personalArgs(items)...)
		}
		for _, st := range stmts {
			b.Queue(st.SQL, st.Args...)
		}
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		if isGuardFailure(err) {
			return err
		}
		return commitError(err, batch)
	}
	s.head = head{known: true, pos: p.LastPos, hash: p.PrevHash, at: p.Now}
	s.Committed(s.opts, batch, replies, len(p.Recs), start)
	return nil
}

// abort leaves conn outside any transaction, or closes it so the pool
// discards it.
func abort(conn *pgxpool.Conn) {
	pc := conn.Conn().PgConn()
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		conn.Conn().Close(ctx)
	}
}

// loadPlanner takes the append lock and reads what the batch must be
// checked against, in one round trip: the head, the streams' versions,
// the event ids already recorded and the preconditions' queries.
func (s *Store) loadPlanner(ctx context.Context, conn *pgx.Conn, batch []*eventstore.Request) (*eventstore.Planner, error) {
	var streams, ids []string
	for _, r := range batch {
		for _, sa := range r.Appends {
			streams = append(streams, sa.StreamID)
			for _, e := range sa.Events {
				ids = append(ids, e.EventID.String())
			}
		}
	}
	p := eventstore.NewPlanner(s.opts.Clock())
	checks := eventstore.Checks(batch)
	stmts := p.Resolve(s.opts.Queries, checks)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(sqlLock, appendLockKey)
	b.Queue(sqlHead)
	b.Queue(sqlVersions, streams)
	b.Queue(sqlExisting, ids)
	// Preconditions read the read model under the lock: it holds every
	// committed event.
	for _, st := range stmts {
		if st != nil {
			b.Queue(st.SQL, st.Args...)
		}
	}
	br := conn.SendBatch(ctx, b)
	defer br.Close()

	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("append lock: %w", err)
	}
	p.Versions = make(map[string]int64, len(streams))
	var at time.Time
	err := br.QueryRow().Scan(&p.LastPos, &p.PrevHash, &at)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		p.PrevHash = eventstore.GenesisHash
	case err != nil:
		return nil, fmt.Errorf("log head: %w", err)
	default:
		if at.After(p.Now) {
			p.Now = eventstore.NormalizeTime(at) // recorded_at never goes back
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("stream versions: %w", err)
	}
	var (
		stream  string
		version int64
	)
	_, err = pgx.ForEachRow(rows, []any{&stream, &version}, func() error {
		p.Versions[stream] = version
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stream versions: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, fmt.Errorf("existing events: %w", err)
	}
	for rows.Next() {
		rec, err := scanRecorded(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("existing events: %w", err)
		}
		p.Existing[rec.EventID] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("existing events: %w", err)
	}
	for i, st := range stmts {
		if st == nil {
			continue
		}
		rows, err := br.Query()
		if err != nil {
			return nil, fmt.Errorf("precondition %s: %w", checks[i].Query, err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("precondition %s: %w", checks[i].Query, err)
		}
		p.Checked(checks[i], got)
	}
	return p, br.Close()
}

func insertArgs(recs []eventstore.Recorded) []any {
	n := len(recs)
	var (
		pos    = make([]int64, n)
		stream = make([]string, n)
		ver    = make([]int64, n)
		ids    = make([]pgtype.UUID, n)
		typ    = make([]string, n)
		data   = make([]string, n)
		meta   = make([]string, n)
		at     = make([]time.Time, n)
		prev   = make([][]byte, n)
		hash   = make([][]byte, n)
	)
	for i, r := range recs {
		pos[i], stream[i], ver[i] = r.Position, r.StreamID, r.StreamVersion
		ids[i] = pgtype.UUID{Bytes: r.EventID, Valid: true}
		typ[i], data[i], meta[i] = r.Type, string(r.Data), string(r.Metadata)
		at[i], prev[i], hash[i] = r.RecordedAt, r.PrevHash, r.Hash
	}
	return []any{pos, stream, ver, ids, typ, data, meta, at, prev, hash}
}
