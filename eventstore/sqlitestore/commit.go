package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

const sqlInsert = `INSERT INTO events (` + columns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// commit records a batch in one IMMEDIATE transaction: it reads the head,
// the streams' versions, (for requests that named their event ids) the
// events already recorded and the preconditions' queries, plans the batch, inserts it with its read-model
// updates and commits. It replies to every request only after COMMIT.
func (s *Store) commit(batch []*eventstore.Request) (err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.TxTimeout)
	defer cancel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return Classify(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return Classify(fmt.Errorf("begin: %w", err))
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()

	p, err := s.plan(ctx, conn, batch)
	if err != nil {
		return Classify(err)
	}
	outs := p.PlanBatch(batch)
	if len(p.Recs) > 0 {
		if err := s.write(ctx, conn, p.Recs); err != nil {
			return classifyBatch(err, batch)
		}
		if err := putPersonal(ctx, conn, eventstore.PersonalOf(batch, outs)); err != nil {
			return Classify(err)
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return Classify(fmt.Errorf("commit: %w", err))
	}
	committed = true
	s.Committed(s.opts, batch, outs, len(p.Recs), start)
	return nil
}

// plan reads, under the write lock, what the batch is checked against.
func (s *Store) plan(ctx context.Context, conn *sql.Conn, batch []*eventstore.Request) (*eventstore.Planner, error) {
	p := eventstore.NewPlanner(s.opts.Clock())
	var at string
	err := conn.QueryRowContext(ctx, `SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1`).
		Scan(&p.LastPos, &p.PrevHash, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		p.PrevHash = eventstore.GenesisHash
	case err != nil:
		return nil, fmt.Errorf("log head: %w", err)
	default:
		t, err := time.Parse(eventstore.TimeFormat, at)
		if err != nil {
			return nil, fmt.Errorf("log head: recorded_at %q: %w", at, err)
		}
		if t.After(p.Now) {
			p.Now = t // recorded_at never goes back
		}
	}
	version, err := conn.PrepareContext(ctx, `SELECT max(stream_version) FROM events WHERE stream_id = ?`)
	if err != nil {
		return nil, err
	}
	defer version.Close()
	existing, err := conn.PrepareContext(ctx, `SELECT `+columns+` FROM events WHERE event_id = ?`)
	if err != nil {
		return nil, err
	}
	defer existing.Close()
	for _, r := range batch {
		for _, sa := range r.Appends {
			if _, seen := p.Versions[sa.StreamID]; !seen {
				var v sql.NullInt64
				if err := version.QueryRowContext(ctx, sa.StreamID).Scan(&v); err != nil {
					return nil, fmt.Errorf("stream version: %w", err)
				}
				if v.Valid {
					p.Versions[sa.StreamID] = v.Int64
				} else {
					p.Versions[sa.StreamID] = 0
				}
			}
			if r.Fast {
				continue // generated ids: none can be recorded already
			}
			for _, e := range sa.Events {
				rec, err := scanRecorded(existing.QueryRowContext(ctx, e.EventID.String()))
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("existing event: %w", err)
				}
				p.Existing[rec.EventID] = rec
			}
		}
	}
	// Preconditions read the read model under the write lock: it holds
	// every committed event.
	checks := eventstore.Checks(batch)
	for i, st := range p.Resolve(s.opts.Queries, checks) {
		if st == nil {
			continue
		}
		got, err := queryStrings(ctx, conn, st)
		if err != nil {
			return nil, fmt.Errorf("precondition %s: %w", checks[i].Query, err)
		}
		p.Checked(checks[i], got)
	}
	return p, nil
}

// queryStrings runs st and returns its one text column.
func queryStrings(ctx context.Context, conn *sql.Conn, st *eventstore.Statement) ([]string, error) {
	rows, err := conn.QueryContext(ctx, st.SQL, st.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// write inserts recs and applies the projector's statements.
func (s *Store) write(ctx context.Context, conn *sql.Conn, recs []eventstore.Recorded) error {
	ins, err := conn.PrepareContext(ctx, sqlInsert)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, r := range recs {
		if _, err := ins.ExecContext(ctx, insertArgs(&r)...); err != nil {
			return fmt.Errorf("insert position %d: %w", r.Position, err)
		}
	}
	return s.project(ctx, conn, recs)
}

// project applies the projector's statements for recs on conn.
func (s *Store) project(ctx context.Context, conn execer, recs []eventstore.Recorded) error {
	if s.opts.Projector == nil {
		return nil
	}
	stmts, err := s.opts.Projector(recs)
	if err != nil {
		return fmt.Errorf("project: %w", err)
	}
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("project: %w", err)
		}
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func insertArgs(r *eventstore.Recorded) []any {
	return []any{r.Position, r.StreamID, r.StreamVersion, r.EventID.String(), r.Type,
		string(r.Data), string(r.Metadata), r.RecordedAt.UTC().Format(eventstore.TimeFormat), r.PrevHash, r.Hash}
}

// Import appends already-recorded events verbatim (positions, times and
// hashes kept), with their read-model updates, in one transaction. They
// must continue the log: the first position is head+1 and links to the
// head's hash; otherwise it returns eventstore.ErrImportGap.
func (s *Store) Import(ctx context.Context, recs []eventstore.Recorded) error {
	if len(recs) == 0 {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return Classify(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return Classify(err)
	}
	committed := false
	defer func() {
		if !committed {
			_, _ = conn.ExecContext(context.Background(), `ROLLBACK`)
		}
	}()
	head, hash := int64(0), eventstore.GenesisHash
	err = conn.QueryRowContext(ctx, `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`).Scan(&head, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Classify(err)
	}
	if err := eventstore.CheckContinues(recs[0], head, hash); err != nil {
		return err
	}
	if err := s.write(ctx, conn, recs); err != nil {
		return classifyBatch(err, nil)
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return Classify(err)
	}
	committed = true
	s.Notify()
	return nil
}
