package app

import (
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// checkPolicy reports stretches where the checkpointer, had it run,
// would have signed a checkpoint but none is in the log: once Every events
// followed a checkpoint event (or Interval passed with events), the next
// checkpoint must be recorded within Grace. It measures with the log's own
// times, so a slow or stopped server adds no false alarm — only a crash in
// the seconds between a due checkpoint and its signing would.
func checkPolicy(o VerifyOptions, cps []logged, to int64, at func(int64) (*eventstore.Recorded, []byte, error), rep *AuditReport) error {
	grace := o.Policy.Grace
	if grace <= 0 {
		grace = time.Minute
	}
	headRec, _, err := at(to)
	if err != nil || headRec == nil {
		return err
	}
	// late explains why no checkpoint between position prevEvent (the last
	// checkpoint event, made at prevAt) and limit, by until, breaks the policy.
	late := func(prevEvent int64, prevAt time.Time, limit int64, until time.Time) (string, error) {
		if y := prevEvent + o.Policy.Every; y <= limit {
			r, _, err := at(y)
			if err != nil {
				return "", err
			}
			if r != nil && until.Sub(r.RecordedAt) > grace {
				return fmt.Sprintf("%d events followed position %d by %s (the policy is a checkpoint every %d), but no checkpoint was recorded within %s of that",
					o.Policy.Every, prevEvent, r.RecordedAt.Format(time.RFC3339), o.Policy.Every, grace), nil
			}
		}
		if o.Policy.Interval > 0 && !prevAt.IsZero() && prevEvent+1 <= limit {
			r, _, err := at(prevEvent + 1)
			if err != nil {
				return "", err
			}
			if r == nil {
				return "", nil
			}
			due := prevAt.Add(o.Policy.Interval)
			if r.RecordedAt.After(due) {
				due = r.RecordedAt
			}
			if until.Sub(due) > grace {
				return fmt.Sprintf("events followed the checkpoint at position %d, and a checkpoint was due by %s (the policy is one at least every %s), but none was recorded within %s of that",
					prevEvent, due.Format(time.RFC3339), o.Policy.Interval, grace), nil
			}
		}
		return "", nil
	}
	var (
		prevEvent, prevSigned int64
		prevAt                time.Time
		known                 = o.From <= 1 // before the first checkpoint seen, from position 1
	)
	add := func(reason string, from, to int64) {
		rep.Breaks = append(rep.Breaks, eventstore.Break{Position: to, Kind: eventstore.BreakPolicy, From: from, To: to,
			Reason: reason + ": checkpoints were deleted, or the checkpointer did not run"})
	}
	for _, c := range cps {
		if c.cp.Position > to {
			break
		}
		if known {
			reason, err := late(prevEvent, prevAt, c.pos-1, c.at)
			if err != nil {
				return err
			}
			if reason != "" {
				add(reason, prevSigned+1, c.cp.Position)
			}
		}
		prevEvent, prevSigned, prevAt, known = c.pos, c.cp.Position, c.at, true
	}
	if known && to > prevEvent {
		reason, err := late(prevEvent, prevAt, to, headRec.RecordedAt)
		if err != nil {
			return err
		}
		if reason != "" {
			add(reason, prevSigned+1, to)
		}
	}
	return nil
}
