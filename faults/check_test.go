package faults_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/faults"
)

// logState is what a database holds about sessions: the log's events and
// the read model.
type logState struct {
	started, revoked map[string]int  // session → events of that type
	readModel        map[string]bool // session → revoked in the sessions table
}

func readState(ctx context.Context, db string) (logState, error) {
	s := logState{started: map[string]int{}, revoked: map[string]int{}, readModel: map[string]bool{}}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		return s, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT type, stream_id FROM events WHERE type IN ('SessionStarted', 'SessionRevoked')`)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var typ, stream string
		if err := rows.Scan(&typ, &stream); err != nil {
			return s, err
		}
		id := strings.TrimPrefix(stream, "session-")
		if typ == "SessionStarted" {
			s.started[id]++
		} else {
			s.revoked[id]++
		}
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	rows, err = conn.Query(ctx, `SELECT session_id, revoked_at IS NOT NULL FROM sessions`)
	if err != nil {
		return s, err
	}
	for rows.Next() {
		var id string
		var rv bool
		if err := rows.Scan(&id, &rv); err != nil {
			return s, err
		}
		s.readModel[id] = rv
	}
	return s, rows.Err()
}

// check runs every checker on the finished run and reports.
func (r *run) check(t *testing.T) {
	c := r.c
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ops := c.hist.Ops()

	st, err := readState(ctx, c.db)
	if err != nil {
		t.Fatalf("read the log: %v", err)
	}
	r.checkDurable(ops, st, "")
	r.checkChain(c.db, "")
	r.checkReadModel(st, "the live read model")

	if n, err := rebuildReadModel(ctx, c.db); err != nil {
		t.Fatalf("rebuild: %v", err)
	} else if after, err := readState(ctx, c.db); err != nil {
		t.Fatalf("read after rebuild: %v", err)
	} else {
		c.note("final rebuild: replayed %d events", n)
		r.checkReadModel(after, "the read model rebuilt from the log")
	}

	r.checkImport(ctx, t)

	lin := r.checkLinearizable(ops, st)
	r.report(t, ops, st, lin)
}

// checkDurable: every operation answered 200/201 is in the log, once.
func (r *run) checkDurable(ops []faults.Op, st logState, where string) {
	bad := func(format string, args ...any) {
		r.c.violate(faults.Violation{Promise: "Durable", Checker: "log", Detail: where + fmt.Sprintf(format, args...)})
	}
	for _, o := range ops {
		if o.Outcome != faults.OK || o.Code != "" {
			continue
		}
		switch o.Kind {
		case faults.Start:
			if st.started[o.Session] == 0 {
				bad("start op %d of %s answered %d but the log has no SessionStarted", o.ID, o.Session, o.HTTP)
			}
		case faults.Revoke:
			if st.revoked[o.Session] == 0 {
				bad("revoke op %d of %s answered 200 (%s) but the log has no SessionRevoked", o.ID, o.Session, o.Broadcast)
			}
		case faults.RevokeAll:
			for _, s := range o.Revoked {
				if st.revoked[s] == 0 {
					bad("revokeAll op %d answered 200 with %s but the log has no SessionRevoked for it", o.ID, s)
				}
			}
		}
	}
	for _, k := range r.c.know.All() {
		if st.revoked[k.Session] == 0 {
			bad("%s was seen revoked (%s) but the log has no SessionRevoked", k.Session, k.Why)
		}
	}
	for s, n := range st.started {
		if n > 1 {
			bad("%s has %d SessionStarted events", s, n)
		}
	}
	for s, n := range st.revoked {
		if n > 1 {
			bad("%s has %d SessionRevoked events", s, n)
		}
	}
}

// checkChain runs `sessiond audit verify` on db.
func (r *run) checkChain(db, where string) {
	out, err := r.c.cli(db, "audit", "verify")
	r.c.note("audit verify%s: %s", where, strings.TrimSpace(out))
	if err != nil {
		r.c.violate(faults.Violation{Promise: "Durable", Checker: "audit verify", Detail: "audit verify" + where + " failed: " + strings.TrimSpace(out)})
	}
}

// checkReadModel: the read model agrees with the log and with what the
// run saw: every revoked session reads revoked.
func (r *run) checkReadModel(st logState, what string) {
	for s := range st.revoked {
		if !st.readModel[s] {
			r.c.violate(faults.Violation{Promise: "Never resurrected", Checker: "read model", Detail: fmt.Sprintf(
				"%s: %s has a SessionRevoked event but reads active (present: %v)", what, s, hasKey(st.readModel, s))})
		}
	}
	for s := range st.started {
		if _, ok := st.readModel[s]; !ok {
			r.c.violate(faults.Violation{Promise: "Durable", Checker: "read model", Detail: fmt.Sprintf("%s: %s started in the log but missing", what, s)})
		}
	}
	for _, k := range r.c.know.All() {
		if !st.readModel[k.Session] {
			r.c.violate(faults.Violation{Promise: "Never resurrected", Checker: "read model", Detail: fmt.Sprintf(
				"%s: %s reads active; it was revoked: %s", what, k.Session, k.Why)})
		}
	}
}

func hasKey(m map[string]bool, k string) bool { _, ok := m[k]; return ok }

// checkImport exports the log, imports it into a fresh database, and
// checks the chain and the read model there.
func (r *run) checkImport(ctx context.Context, t *testing.T) {
	c := r.c
	file := filepath.Join(c.dir, "export.jsonl")
	if out, err := c.cli(c.db, "export", "--out", file); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	db := createDatabase(t, c.pg.URL(), "imported")
	if out, err := c.cli(db, "import", "--in", file); err != nil {
		r.c.violate(faults.Violation{Promise: "Durable", Checker: "export/import", Detail: "import of the export failed: " + strings.TrimSpace(out)})
		return
	}
	r.checkChain(db, " (imported)")
	st, err := readState(ctx, db)
	if err != nil {
		t.Fatalf("read the imported log: %v", err)
	}
	r.checkDurable(c.hist.Ops(), st, "after export/import: ")
	r.checkReadModel(st, "the read model after export/import")
}

// linResult is porcupine's verdict.
type linResult struct {
	result  porcupine.CheckResult
	info    porcupine.LinearizationInfo
	ops     int
	explain string // where the search got stuck, when Illegal
}

func (r *run) checkLinearizable(ops []faults.Op, st logState) linResult {
	p := faults.Persisted{Started: map[string]bool{}, Revoked: map[string]bool{}}
	for s := range st.started {
		p.Started[s] = true
	}
	for s := range st.revoked {
		p.Revoked[s] = true
	}
	pops := faults.Operations(ops, func(u string) bool { return strings.HasPrefix(u, "u") }, p)
	res, info := faults.CheckLinearizable(pops, 2*time.Minute)
	r.c.note("linearizability: %s over %d operations", res, len(pops))
	switch res {
	case porcupine.Illegal:
		r.c.violate(faults.Violation{Promise: "Linearizable", Checker: "porcupine", Detail: fmt.Sprintf(
			"porcupine found no linearization of the %d start/revoke/revoke-all/get/list operations; see linearizability.html", len(pops))})
	case porcupine.Unknown:
		r.c.note("linearizability: porcupine timed out: inconclusive")
	}
	lr := linResult{result: res, info: info, ops: len(pops)}
	if res == porcupine.Illegal {
		lr.explain = faults.Explain(pops, ops, 2*time.Minute)
	}
	return lr
}
