package console

import (
	"context"

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
	Broken      *app.Break
	Breaks      []app.Break // every problem found, in log order
}

// DefaultVerify is the console's verification: exactly what `sessiond
// audit verify` checks (app.VerifyAudit: the chain, the audit key history,
// every checkpoint and its link, the witnesses, the policy, the read model
// and the personal data), with the options the server builds for it.
func DefaultVerify(log app.LogReader, options func(context.Context) (app.VerifyOptions, error)) Verify {
	return func(ctx context.Context, progress func(checked, total int64)) (VerifyReport, error) {
		o, err := options(ctx)
		if err != nil {
			return VerifyReport{}, err
		}
		o.Progress = progress
		rep, err := app.VerifyAudit(ctx, log, o)
		if err != nil {
			return VerifyReport{}, err
		}
		out := VerifyReport{Checked: rep.Chain.Checked, From: max(o.From, 1), To: rep.Chain.To, HeadHash: rep.Chain.HeadHash,
			Checkpoints: rep.InLog, Unsigned: rep.Unsigned, Breaks: rep.Breaks}
		if len(rep.Breaks) > 0 {
			out.Broken = &rep.Breaks[0]
		}
		return out, nil
	}
}
