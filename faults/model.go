package faults

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/anishathalye/porcupine"
)

// The registry model: per user, the status of each of its sessions. A
// user's sessions are named "<user>-<n>", and the state of a user is a
// string whose byte n is the status of session n: 0 absent, 'a' active,
// 'r' revoked. Users are independent (revoke-all touches one user), so
// the history is partitioned by user.

const (
	stAbsent  = 0
	stActive  = 'a'
	stRevoked = 'r'
)

// input is an operation as the model sees it.
type input struct {
	Kind  Kind
	User  string
	Index int // the session's n; -1 for revoke-all and list
}

// output is a completion as the model sees it.
type output struct {
	Outcome        Outcome
	Code           string // USER_NOT_FOUND or SESSION_NOT_FOUND on a 404
	Created        bool
	Status         byte
	AlreadyRevoked bool
	Revoked        []int  // revokeAll, sorted
	Sessions       string // list, encoded as the state
}

// SessionIndex returns n of a session id "<user>-<n>", or -1.
func SessionIndex(id string) int {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func statusByte(s string) byte {
	switch s {
	case Active:
		return stActive
	case Revoked:
		return stRevoked
	}
	return stAbsent
}

func with(state string, i int, c byte) string {
	b := []byte(state)
	for len(b) <= i {
		b = append(b, stAbsent)
	}
	b[i] = c
	return string(b)
}

func at(state string, i int) byte {
	if i < 0 || i >= len(state) {
		return stAbsent
	}
	return state[i]
}

func known(state string) bool { return strings.Trim(state, "\x00") != "" }

func trim(state string) string { return strings.TrimRight(state, "\x00") }

// notFoundOK reports whether code is a 404 the registry may give for a
// missing session. USER_NOT_FOUND needs the user unknown. sessiond decides
// SESSION_NOT_FOUND by two reads (the session, then whether the user
// exists), so a request racing the user's first start may say
// SESSION_NOT_FOUND while the user was still unknown: accepted (a known,
// harmless anomaly of the error code; see the README's track record).
func notFoundOK(state, code string) bool {
	if known(state) {
		return code == "SESSION_NOT_FOUND"
	}
	return code == "USER_NOT_FOUND" || code == "SESSION_NOT_FOUND"
}

func revokeAll(state string) (string, []int) {
	b := []byte(state)
	var ids []int
	for i, c := range b {
		if c == stActive {
			b[i] = stRevoked
			ids = append(ids, i)
		}
	}
	return string(b), ids
}

// step is the sequential specification of the session registry.
func step(st any, in any, out any) (bool, any) {
	state, i, o := st.(string), in.(input), out.(output)
	if o.Outcome == Fail {
		return true, state // refused: nothing happened
	}
	cur := at(state, i.Index)
	switch i.Kind {
	case Start:
		if o.Outcome == Unknown {
			if cur == stAbsent {
				return true, with(state, i.Index, stActive)
			}
			return true, state
		}
		if cur == stAbsent {
			return o.Created && o.Status == stActive, with(state, i.Index, stActive)
		}
		return !o.Created && o.Status == cur, state
	case Revoke:
		if o.Outcome == Unknown {
			if cur == stActive {
				return true, with(state, i.Index, stRevoked)
			}
			return true, state
		}
		switch cur {
		case stAbsent:
			return notFoundOK(state, o.Code), state
		case stActive:
			return o.Code == "" && !o.AlreadyRevoked && o.Status == stRevoked, with(state, i.Index, stRevoked)
		default:
			return o.Code == "" && o.AlreadyRevoked && o.Status == stRevoked, state
		}
	case RevokeAll:
		next, ids := revokeAll(state)
		if o.Outcome == Unknown {
			return true, next
		}
		if !known(state) {
			return o.Code == "USER_NOT_FOUND", state
		}
		return o.Code == "" && slices.Equal(ids, o.Revoked), next
	case Get:
		if cur == stAbsent {
			return notFoundOK(state, o.Code), state
		}
		return o.Code == "" && o.Status == cur, state
	case List:
		if !known(state) {
			return o.Code == "USER_NOT_FOUND" || (o.Code == "" && o.Sessions == ""), state
		}
		return o.Code == "" && o.Sessions == trim(state), state
	}
	return false, state
}

func describeState(st any) string {
	state := st.(string)
	var parts []string
	for i, c := range []byte(state) {
		switch c {
		case stActive:
			parts = append(parts, fmt.Sprintf("%d:active", i))
		case stRevoked:
			parts = append(parts, fmt.Sprintf("%d:revoked", i))
		}
	}
	if len(parts) == 0 {
		return "{}"
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func describeOp(in any, out any) string {
	i, o := in.(input), out.(output)
	var res string
	switch {
	case o.Outcome == Unknown:
		res = "unknown"
	case o.Outcome == Fail:
		res = "refused"
	case o.Code != "":
		res = o.Code
	case i.Kind == Start:
		res = fmt.Sprintf("created=%v %s", o.Created, describeStatus(o.Status))
	case i.Kind == Revoke:
		res = fmt.Sprintf("alreadyRevoked=%v", o.AlreadyRevoked)
	case i.Kind == RevokeAll:
		res = fmt.Sprintf("revoked %v", o.Revoked)
	case i.Kind == Get:
		res = describeStatus(o.Status)
	case i.Kind == List:
		res = describeState(o.Sessions)
	}
	if i.Index >= 0 {
		return fmt.Sprintf("%s(%s-%d) → %s", i.Kind, i.User, i.Index, res)
	}
	return fmt.Sprintf("%s(%s) → %s", i.Kind, i.User, res)
}

func describeStatus(c byte) string {
	switch c {
	case stActive:
		return Active
	case stRevoked:
		return Revoked
	}
	return "absent"
}

// Model is the session registry as a porcupine model, partitioned by user.
var Model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var users []string
		for _, op := range h {
			u := op.Input.(input).User
			if _, ok := by[u]; !ok {
				users = append(users, u)
			}
			by[u] = append(by[u], op)
		}
		out := make([][]porcupine.Operation, 0, len(users))
		for _, u := range users {
			out = append(out, by[u])
		}
		return out
	},
	Init:  func() any { return "" },
	Step:  step,
	Equal: func(a, b any) bool { return trim(a.(string)) == trim(b.(string)) },
	Hash: func(s any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(trim(s.(string))))
		return h.Sum64()
	},
	DescribeOperation: describeOp,
	DescribeState:     describeState,
}
