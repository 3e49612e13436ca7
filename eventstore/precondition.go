package eventstore

import (
	"fmt"
	"slices"
)

// Check is one precondition of a batch's request, for the store to
// evaluate under the append lock (see Checks and Planner.Checked).
type Check struct {
	Req *Request
	*Precondition
}

// Checks returns the preconditions of a batch's requests, in order.
func Checks(batch []*Request) []Check {
	var out []Check
	for _, r := range batch {
		for _, sa := range r.Appends {
			if sa.Precondition != nil {
				out = append(out, Check{Req: r, Precondition: sa.Precondition})
			}
		}
	}
	return out
}

// Checked records what a check's query returned. A precondition that does
// not hold makes its request fail with a *PreconditionError, unless every
// event of the request is recorded already (a replay).
func (p *Planner) Checked(c Check, got []string) {
	if !sameSet(got, c.Want) {
		p.refuse(c.Req, &PreconditionError{Key: c.Key, Query: c.Query, Want: c.Want, Got: got})
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// PlanBatch plans every request of batch.
//
// Preconditions are evaluated against the read model as the transaction
// finds it, before any of the batch's own events are projected (the
// read-model statements run after the inserts). So requests with
// preconditions are planned first, in batch order, and the others after
// them: every request of a batch is in flight and none has been answered,
// so this order is as valid a linearization as any, and it makes the log
// order agree with what each precondition saw. A later request with a
// precondition of a Key already used by a recording request of the batch
// could be invalidated by it; it fails with a *PreconditionError (a
// conflict: its caller reads again and retries, in a later batch).
func (p *Planner) PlanBatch(batch []*Request) []Outcome {
	out := make([]Outcome, len(batch))
	keys := make(map[string]bool)
	plan := func(i int, r *Request) {
		before := p.LastPos
		out[i].Recs, out[i].Err = p.plan(r, keys)
		out[i].New = out[i].Err == nil && p.LastPos > before
		if out[i].New {
			for _, sa := range r.Appends {
				if sa.Precondition != nil {
					keys[sa.Precondition.Key] = true
				}
			}
		}
	}
	for i, r := range batch {
		if guarded(r) {
			plan(i, r)
		}
	}
	for i, r := range batch {
		if !guarded(r) {
			plan(i, r)
		}
	}
	return out
}

// plan plans one request: a replay, a refusal or new events.
func (p *Planner) plan(r *Request, keys map[string]bool) ([]Recorded, error) {
	if recs, ok, err := p.replay(r.Appends); ok || err != nil {
		return recs, err
	}
	if err := p.unmet[r]; err != nil {
		return nil, err
	}
	for _, sa := range r.Appends {
		if pc := sa.Precondition; pc != nil && keys[pc.Key] {
			return nil, &PreconditionError{Key: pc.Key, Query: pc.Query, Want: pc.Want, Batched: true}
		}
	}
	return p.add(r.Appends)
}

func guarded(r *Request) bool {
	for _, sa := range r.Appends {
		if sa.Precondition != nil {
			return true
		}
	}
	return false
}

// Resolve returns the statement of each check, resolved by q (nil when
// the store has no queries). A check that cannot be resolved gets a nil
// statement and fails its request with ErrInvalidAppend.
func (p *Planner) Resolve(q QueryFunc, checks []Check) []*Statement {
	out := make([]*Statement, len(checks))
	for i, c := range checks {
		var err error
		if q == nil {
			err = fmt.Errorf("%w: the store has no read-model queries for preconditions", ErrInvalidAppend)
		} else if st, qerr := q(c.Query, c.Args); qerr != nil {
			err = fmt.Errorf("%w: precondition %s: %v", ErrInvalidAppend, c.Query, qerr)
		} else {
			out[i] = &st
			continue
		}
		p.refuse(c.Req, err)
	}
	return out
}

func (p *Planner) refuse(r *Request, err error) {
	if p.unmet == nil {
		p.unmet = make(map[*Request]error)
	}
	if p.unmet[r] == nil {
		p.unmet[r] = err
	}
}
