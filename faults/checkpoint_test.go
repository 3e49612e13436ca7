package faults_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/faults"
)

// watchCheckpoint polls the relay's checkpoint, straight from PostgreSQL,
// until stop closes: it must never move backwards (an old leader's late
// write must not undo a newer leader's progress). Polls fail while
// PostgreSQL is down; that is the fault, not a finding.
func (c *cluster) watchCheckpoint(stop <-chan struct{}) {
	var (
		conn *pgx.Conn
		high int64
		at   int64
	)
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if conn == nil || conn.IsClosed() {
			var err error
			if conn, err = pgx.Connect(ctx, c.db); err != nil {
				conn = nil
				cancel()
				continue
			}
		}
		var pos int64
		err := conn.QueryRow(ctx, `SELECT position FROM checkpoints WHERE name = 'broadcast-relay'`).Scan(&pos)
		cancel()
		switch {
		case err == pgx.ErrNoRows:
		case err != nil:
			conn.Close(context.Background())
			conn = nil
		case pos < high:
			c.violate(faults.Violation{Promise: "Invariant", Checker: "relay checkpoint", Detail: fmt.Sprintf(
				"the relay's checkpoint moved back from %d (seen at t=%v) to %d at t=%v: an old leader's late write undid progress",
				high, time.Duration(at).Round(time.Millisecond), pos, time.Duration(c.hist.Now()).Round(time.Millisecond))})
			high, at = pos, c.hist.Now()
		default:
			high, at = pos, c.hist.Now()
		}
	}
}
