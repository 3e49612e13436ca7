package faults

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// Persisted is what the log holds after a run: the sessions with a
// SessionStarted and those with a SessionRevoked event. It prunes
// operations of unknown outcome that provably never took effect, which
// keeps the search small (etcd's robustness suite does the same).
type Persisted struct {
	Started map[string]bool
	Revoked map[string]bool
}

// Operations turns the history of the users keep selects into porcupine
// operations. Following porcupine's intent, an operation of unknown
// outcome returns at the end of the history (it may take effect at any
// moment after its call, or never), and the model accepts it either way;
// a read of unknown outcome tells nothing and is dropped. A client whose
// write has an unknown outcome continues under a new porcupine client id,
// since its operations no longer follow one another.
//
// A revoke-all is one operation: it must revoke every session of the
// user active at one moment within the call, including one started
// while it ran. (Until the fault suite's first finding was fixed, a
// revoke-all was a read and a later append, and a session started in
// between survived it; see the README's track record.)
func Operations(ops []Op, keep func(user string) bool, p Persisted) []porcupine.Operation {
	var end int64
	for _, op := range ops {
		end = max(end, op.Return, op.Call)
	}
	end++
	ops = slices.Clone(ops)
	slices.SortFunc(ops, func(a, b Op) int { return int(a.Call - b.Call) })
	stream := map[int]int{} // workload client → porcupine client
	next := 0
	streamOf := func(c int) int {
		s, ok := stream[c]
		if !ok {
			s = next
			next++
			stream[c] = s
		}
		return s
	}
	var out []porcupine.Operation
	for _, op := range ops {
		if !keep(op.User) {
			continue
		}
		in := input{Kind: op.Kind, User: op.User, Index: -1}
		if op.Session != "" {
			in.Index = SessionIndex(op.Session)
		}
		o := output{Outcome: op.Outcome, Code: op.Code, Created: op.Created, Status: statusByte(op.Status),
			AlreadyRevoked: op.AlreadyRevoked}
		for _, s := range op.Revoked {
			o.Revoked = append(o.Revoked, SessionIndex(s))
		}
		slices.Sort(o.Revoked)
		for s, st := range op.Sessions {
			o.Sessions = with(o.Sessions, SessionIndex(s), statusByte(st))
		}
		ret := op.Return
		if op.Outcome == Unknown {
			read := op.Kind == Get || op.Kind == List
			never := (op.Kind == Start && !p.Started[op.Session]) || (op.Kind == Revoke && !p.Revoked[op.Session])
			if read || never {
				continue
			}
			ret = end
		}
		c := streamOf(op.Client)
		out = append(out, porcupine.Operation{ClientId: c, Input: in, Call: op.Call, Output: o, Return: ret, Metadata: op.ID})
		if op.Outcome == Unknown {
			delete(stream, op.Client)
		}
	}
	return out
}

// CheckLinearizable checks the operations against Model. The result is
// porcupine.Unknown when the search did not finish within timeout.
func CheckLinearizable(ops []porcupine.Operation, timeout time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo) {
	return porcupine.CheckOperationsVerbose(Model, ops, timeout)
}

// Explain describes where each user whose operations have no
// linearization gets stuck: the longest prefix porcupine could linearize,
// its last steps, and the operations it could not place next. pops are
// the checked operations (ids of ops as metadata), ops the history. Each
// user is checked again on its own: porcupine stops the other partitions
// once one fails, so their partial results mean nothing.
func Explain(pops []porcupine.Operation, ops []Op, timeout time.Duration) string {
	byID := make(map[int]Op, len(ops))
	for _, o := range ops {
		byID[o.ID] = o
	}
	byUser := map[string][]porcupine.Operation{}
	var users []string
	for _, o := range pops {
		u := o.Input.(input).User
		if _, ok := byUser[u]; !ok {
			users = append(users, u)
		}
		byUser[u] = append(byUser[u], o)
	}
	slices.Sort(users)
	var b strings.Builder
	for _, u := range users {
		res, info := porcupine.CheckOperationsVerbose(Model, byUser[u], timeout)
		if res != porcupine.Illegal {
			continue
		}
		var longest []porcupine.Operation
		for _, part := range info.PartialLinearizationsOperations() {
			for _, l := range part {
				if len(l) > len(longest) {
					longest = l
				}
			}
		}
		placed := map[int]bool{}
		for _, o := range longest {
			placed[o.Metadata.(int)] = true
		}
		var stuck []Op
		for _, o := range byUser[u] {
			if id := o.Metadata.(int); !placed[id] && byID[id].Outcome == OK {
				stuck = append(stuck, byID[id])
			}
		}
		slices.SortFunc(stuck, func(a, b Op) int { return int(a.Call - b.Call) })
		stuck = slices.CompactFunc(stuck, func(a, b Op) bool { return a.ID == b.ID })
		fmt.Fprintf(&b, "user %s: %d of %d operations linearized before getting stuck\nlast linearized:\n", u, len(longest), len(byUser[u]))
		for _, o := range longest[max(0, len(longest)-5):] {
			fmt.Fprintf(&b, "  %s\n", describeOp(o.Input, o.Output))
		}
		b.WriteString("could not be placed next (earliest first):\n")
		for _, o := range stuck[:min(len(stuck), 8)] {
			j, _ := json.Marshal(o)
			fmt.Fprintf(&b, "  %s\n", j)
		}
		b.WriteString("\n")
	}
	return b.String()
}
