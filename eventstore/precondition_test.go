package eventstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

// req builds a planned request of one event on stream, with a
// precondition of key when key is not empty.
func req(stream, key string) *eventstore.Request {
	sa := eventstore.StreamAppend{StreamID: stream, Events: []eventstore.Proposed{{EventID: uuid.New(), Type: "T"}}}
	if key != "" {
		sa.Precondition = &eventstore.Precondition{Key: key, Query: "q", Want: []string{"x"}}
	}
	return &eventstore.Request{Appends: []eventstore.StreamAppend{sa}}
}

// plan plans batch, every precondition's query answering what
// answers[stream] says (its Want by default), and renders the outcome
// of each request: its position, "conflict" (the precondition does not
// hold) or "batched" (a request of its key recorded first).
func plan(batch []*eventstore.Request, answers map[string][]string, existing ...eventstore.Recorded) string {
	p := eventstore.NewPlanner(time.Unix(0, 0))
	for _, r := range existing {
		p.Existing[r.EventID] = r
	}
	for _, c := range eventstore.Checks(batch) {
		got, ok := answers[c.Req.Appends[0].StreamID]
		if !ok {
			got = c.Want
		}
		p.Checked(c, got)
	}
	outs := p.PlanBatch(batch)
	s := ""
	for i, o := range outs {
		var pe *eventstore.PreconditionError
		switch {
		case errors.As(o.Err, &pe) && errors.Is(o.Err, eventstore.ErrConflict) && pe.Batched:
			s += fmt.Sprintf("%s:batched ", batch[i].Appends[0].StreamID)
		case errors.As(o.Err, &pe) && errors.Is(o.Err, eventstore.ErrConflict):
			s += fmt.Sprintf("%s:conflict ", batch[i].Appends[0].StreamID)
		case o.Err != nil:
			s += fmt.Sprintf("%s:%v ", batch[i].Appends[0].StreamID, o.Err)
		default:
			s += fmt.Sprintf("%s:%d ", batch[i].Appends[0].StreamID, o.Recs[0].Position)
		}
	}
	return s
}

// TestPlanBatchPreconditions: preconditions are evaluated before the
// batch's own events reach the read model, so the requests that carry
// them are planned first (a start batched with a revoke-all is recorded
// after it, as the revoke-all's check saw); a second request with a
// precondition of the same key would have been checked against a state
// the first one changes, so it is a conflict; one that does not hold is
// a conflict; a replay is not checked.
func TestPlanBatchPreconditions(t *testing.T) {
	cases := []struct {
		name    string
		batch   []*eventstore.Request
		answers map[string][]string
		want    string
	}{
		{"guarded first", []*eventstore.Request{req("start", ""), req("all", "user:u")}, nil,
			"start:2 all:1 "},
		{"one per key", []*eventstore.Request{req("a", ""), req("all1", "user:u"), req("all2", "user:u"), req("v", "user:v")}, nil,
			"a:3 all1:1 all2:batched v:2 "},
		{"a refused request frees its key", []*eventstore.Request{req("all1", "user:u"), req("all2", "user:u")},
			map[string][]string{"all1": {"x", "y"}}, "all1:conflict all2:1 "},
		{"unmet", []*eventstore.Request{req("all", "user:u"), req("b", "")}, map[string][]string{"all": nil},
			"all:conflict b:1 "},
		{"holds", []*eventstore.Request{req("all", "user:u")}, map[string][]string{"all": {"x"}},
			"all:1 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := plan(tc.batch, tc.answers); got != tc.want {
				t.Errorf("planned %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("replay skips the check", func(t *testing.T) {
		r := req("all", "user:u")
		rec := eventstore.Recorded{Position: 7, StreamID: "all", EventID: r.Appends[0].Events[0].EventID}
		if got, want := plan([]*eventstore.Request{r}, map[string][]string{"all": nil}, rec), "all:7 "; got != want {
			t.Errorf("planned %q, want %q", got, want)
		}
	})
	t.Run("set comparison", func(t *testing.T) {
		r := req("all", "user:u")
		r.Appends[0].Precondition.Want = []string{"b", "a"}
		if got, want := plan([]*eventstore.Request{r}, map[string][]string{"all": {"a", "b"}}), "all:1 "; got != want {
			t.Errorf("planned %q, want %q", got, want)
		}
	})
}
