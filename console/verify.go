package console

import (
	"context"
	"fmt"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
)

// Verify checks the whole log and reports what it found. It calls
// progress as positions are checked (checked of total). The console runs
// it server-side when a person presses "verify now".
type Verify func(ctx context.Context, progress func(checked, total int64)) (VerifyReport, error)

// VerifyReport is the outcome of a Verify.
type VerifyReport struct {
	Checked     int64 // events whose hashes were recomputed
	From, To    int64
	HeadHash    []byte
	Checkpoints int  // signed checkpoints found matching the log
	Unsigned    bool // checkpoint signatures were not checked (no keys)
	Broken      *eventstore.Break
}

// VerifiableLog is what DefaultVerify reads: the log in position order
// and its audit queries.
type VerifiableLog interface {
	eventstore.LogReader
	app.AuditLog
}

// verifyChunk is how many positions DefaultVerify checks between progress
// reports.
const verifyChunk = 2000

// DefaultVerify is the console's verification: the hash chain
// (eventstore.VerifyLog, walked in chunks to report progress), then every
// signed checkpoint in the log (app.VerifyCheckpoints) against jwks.
// It is the one place the console calls verification from, so a stricter
// verify (witnesses, an audit key) replaces it here.
func DefaultVerify(log VerifiableLog, jwks []byte) Verify {
	return func(ctx context.Context, progress func(checked, total int64)) (VerifyReport, error) {
		head, _, err := log.Head(ctx)
		if err != nil {
			return VerifyReport{}, err
		}
		rep := VerifyReport{From: 1}
		progress(0, head)
		for from := int64(1); from <= head; from += verifyChunk {
			to := min(from+verifyChunk-1, head)
			res, err := eventstore.VerifyLog(ctx, log, from, to)
			if err != nil {
				return rep, err
			}
			rep.Checked += res.Checked
			if res.Broken != nil {
				progress(from-1+res.Checked, head)
				rep.Broken = res.Broken
				return rep, nil
			}
			rep.To, rep.HeadHash = res.To, res.HeadHash
			progress(to, head)
		}
		cps, err := app.VerifyCheckpoints(ctx, log, jwks, nil, head)
		if err != nil {
			return rep, fmt.Errorf("checkpoints: %w", err)
		}
		rep.Checkpoints, rep.Unsigned, rep.Broken = cps.InLog, cps.Unsigned, cps.Broken
		return rep, nil
	}
}
