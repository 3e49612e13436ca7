package faults

import (
	"encoding/json"
	"os"
	"sort"
	"sync"
	"time"
)

// Kind names an operation of the workload.
type Kind string

// The operations the workload invokes against the admin API.
const (
	Start     Kind = "start"     // POST /users/{u}/sessions with a chosen sessionId
	Revoke    Kind = "revoke"    // DELETE /users/{u}/sessions/{s}
	RevokeAll Kind = "revokeAll" // DELETE /users/{u}/sessions
	Get       Kind = "get"       // GET /users/{u}/sessions/{s}
	List      Kind = "list"      // GET /users/{u}/sessions?limit=1000
)

// Outcome is what the client knows about an operation once it returned.
type Outcome string

// Outcomes. Unknown is Jepsen's "info": a timeout, a broken connection, a
// 5xx other than UNAVAILABLE — the operation may or may not have taken
// effect, now or later. Fail is a definite refusal: nothing happened.
const (
	OK      Outcome = "ok"
	Fail    Outcome = "fail"
	Unknown Outcome = "unknown"
)

// Session statuses as the API reports them, plus Absent for a session the
// registry has no record of.
const (
	Absent  = ""
	Active  = "active"
	Revoked = "revoked"
	Expired = "expired"
)

// Op is one invocation and its completion. Times are nanoseconds since the
// run began, on the test process's monotonic clock.
type Op struct {
	ID      int     `json:"id"`
	Client  int     `json:"client"`
	Replica int     `json:"replica"`
	Kind    Kind    `json:"kind"`
	User    string  `json:"user"`
	Session string  `json:"session,omitempty"`
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Outcome Outcome `json:"outcome"`
	HTTP    int     `json:"http,omitempty"`
	Code    string  `json:"code,omitempty"` // the error code of a non-2xx
	Err     string  `json:"err,omitempty"`  // a transport error

	Created        bool              `json:"created,omitempty"`        // start: 201
	Status         string            `json:"status,omitempty"`         // start, revoke, get: the session's status
	AlreadyRevoked bool              `json:"alreadyRevoked,omitempty"` // revoke
	Broadcast      string            `json:"broadcast,omitempty"`      // revoke, revokeAll: published or pending
	Revoked        []string          `json:"revoked,omitempty"`        // revokeAll: the sessions it revoked
	Sessions       map[string]string `json:"sessions,omitempty"`       // list: session → status
	ExpiresAt      time.Time         `json:"expiresAt,omitzero"`       // start
}

// History records operations from many goroutines.
type History struct {
	mu    sync.Mutex
	begin time.Time
	ops   []*Op
}

// NewHistory starts a history whose clock begins now.
func NewHistory() *History { return &History{begin: time.Now()} }

// Now is the history's clock: nanoseconds since it began.
func (h *History) Now() int64 { return int64(time.Since(h.begin)) }

// Wall turns a history time into wall-clock time (to compare with times
// sessiond stamps, such as a heartbeat's).
func (h *History) Wall(t int64) time.Time { return h.begin.Add(time.Duration(t)) }

// At turns a wall-clock time into history time.
func (h *History) At(w time.Time) int64 { return int64(w.Sub(h.begin)) }

// Invoke records the call of op and returns it to be completed.
func (h *History) Invoke(op Op) *Op {
	op.Call = h.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	op.ID = len(h.ops)
	p := &op
	h.ops = append(h.ops, p)
	return p
}

// Complete records op's completion: done's outcome and results, stamped
// with the return time now. It returns the completed operation.
func (h *History) Complete(op *Op, done Op) Op {
	t := h.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	done.ID, done.Client, done.Kind, done.User, done.Session, done.Call = op.ID, op.Client, op.Kind, op.User, op.Session, op.Call
	done.Return = t
	*op = done
	return done
}

// Ops returns a copy of every operation, in invocation order. An operation
// still running has Return 0 and counts as Unknown.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Op, len(h.ops))
	for i, p := range h.ops {
		out[i] = *p
		if out[i].Return == 0 {
			out[i].Outcome = Unknown
		}
	}
	return out
}

// Save writes the operations as indented JSON.
func (h *History) Save(path string) error {
	ops := h.Ops()
	sort.Slice(ops, func(i, j int) bool { return ops[i].Call < ops[j].Call })
	b, err := json.MarshalIndent(ops, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
