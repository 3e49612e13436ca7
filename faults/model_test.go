package faults_test

import (
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/sessiond/sessiond/faults"
)

// op builds a completed operation for the model tests.
func op(client int, kind faults.Kind, session string, call, ret int64, o faults.Outcome, mods ...func(*faults.Op)) faults.Op {
	x := faults.Op{Client: client, Kind: kind, User: "u0", Session: session, Call: call, Return: ret, Outcome: o}
	for _, m := range mods {
		m(&x)
	}
	return x
}

func status(s string) func(*faults.Op) { return func(o *faults.Op) { o.Status = s } }
func created(o *faults.Op)             { o.Created = true }
func code(c string) func(*faults.Op)   { return func(o *faults.Op) { o.Code = c } }
func already(o *faults.Op)             { o.AlreadyRevoked = true }
func revoked(ids ...string) func(*faults.Op) {
	return func(o *faults.Op) { o.Revoked = ids }
}

func lin(t *testing.T, p faults.Persisted, ops ...faults.Op) porcupine.CheckResult {
	t.Helper()
	all := func(string) bool { return true }
	res, _ := faults.CheckLinearizable(faults.Operations(ops, all, p), 10*time.Second)
	return res
}

var persistedAll = faults.Persisted{
	Started: map[string]bool{"u0-0": true, "u0-1": true},
	Revoked: map[string]bool{"u0-0": true, "u0-1": true},
}

type modelCase struct {
	name string
	want porcupine.CheckResult
	p    faults.Persisted
	ops  []faults.Op
}

// TestModel: histories the registry may produce pass, and each kind of
// broken promise is caught: a resurrected session, a lying 503, a
// revoke-all that missed a session, a 404 for a session that exists.
func TestModel(t *testing.T) {
	ok, unk, fail := faults.OK, faults.Unknown, faults.Fail
	cases := []modelCase{
		{"sequential", porcupine.Ok, persistedAll, []faults.Op{
			op(0, faults.Get, "u0-0", 0, 1, ok, code("USER_NOT_FOUND")),
			op(0, faults.Start, "u0-0", 2, 3, ok, created, status("active")),
			op(0, faults.Revoke, "u0-0", 4, 5, ok, status("revoked")),
			op(0, faults.Revoke, "u0-0", 6, 7, ok, status("revoked"), already),
			op(0, faults.Get, "u0-0", 8, 9, ok, status("revoked")),
			op(0, faults.Get, "u0-1", 10, 11, ok, code("SESSION_NOT_FOUND")),
		}},
		{"resurrected", porcupine.Illegal, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Revoke, "u0-0", 2, 3, ok, status("revoked")),
			op(1, faults.Get, "u0-0", 4, 5, ok, status("active")),
		}},
		{"concurrent read may see either", porcupine.Ok, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Revoke, "u0-0", 2, 6, ok, status("revoked")),
			op(1, faults.Get, "u0-0", 3, 4, ok, status("active")),
		}},
		{"unknown revoke may have happened", porcupine.Ok, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Revoke, "u0-0", 2, 3, unk),
			op(1, faults.Get, "u0-0", 4, 5, ok, status("active")),
			op(1, faults.Get, "u0-0", 6, 7, ok, status("revoked")),
		}},
		{"unknown revoke cannot happen twice", porcupine.Illegal, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Revoke, "u0-0", 2, 3, unk),
			op(1, faults.Get, "u0-0", 4, 5, ok, status("revoked")),
			op(1, faults.Get, "u0-0", 6, 7, ok, status("active")),
		}},
		{"a refused start recorded nothing", porcupine.Illegal, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, fail, code("UNAVAILABLE")),
			op(0, faults.Start, "u0-0", 2, 3, ok, status("active")), // 200: it existed
		}},
		{"unknown start pruned when not in the log", porcupine.Illegal, faults.Persisted{}, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, unk),
			op(1, faults.Get, "u0-0", 2, 3, ok, status("active")),
		}},
		{"revoke-all revokes every active session", porcupine.Illegal, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Start, "u0-1", 2, 3, ok, created, status("active")),
			op(0, faults.RevokeAll, "", 4, 5, ok, revoked("u0-1")),
		}},
		{"revoke-all then read", porcupine.Ok, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Start, "u0-1", 2, 3, ok, created, status("active")),
			op(0, faults.RevokeAll, "", 4, 5, ok, revoked("u0-1", "u0-0")),
			op(0, faults.List, "", 6, 7, ok, func(o *faults.Op) {
				o.Sessions = map[string]string{"u0-0": "revoked", "u0-1": "revoked"}
			}),
		}},
		{"list shows a revoked session active", porcupine.Illegal, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(0, faults.Revoke, "u0-0", 2, 3, ok, status("revoked")),
			op(0, faults.List, "", 4, 5, ok, func(o *faults.Op) { o.Sessions = map[string]string{"u0-0": "active"} }),
		}},
	}
	cases = append(cases,
		// Seed 1's finding (fixed): a session started while a revoke-all
		// ran, seen active by a read together with the sessions the
		// revoke-all then revoked, survived it.
		modelCase{"revoke-all races a start", porcupine.Illegal, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(1, faults.RevokeAll, "", 2, 10, ok, revoked("u0-0")),
			op(2, faults.Start, "u0-1", 3, 4, ok, created, status("active")),
			op(3, faults.List, "", 5, 6, ok, func(o *faults.Op) {
				o.Sessions = map[string]string{"u0-0": "active", "u0-1": "active"}
			}),
		}},
		// The same race, resolved as sessiond now does: the revoke-all
		// takes effect after the start and revokes both.
		modelCase{"revoke-all includes a start it raced", porcupine.Ok, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(1, faults.RevokeAll, "", 2, 10, ok, revoked("u0-0", "u0-1")),
			op(2, faults.Start, "u0-1", 3, 4, ok, created, status("active")),
			op(3, faults.List, "", 5, 6, ok, func(o *faults.Op) {
				o.Sessions = map[string]string{"u0-0": "active", "u0-1": "active"}
			}),
		}},
		modelCase{"a start after a revoke-all survives it", porcupine.Ok, persistedAll, []faults.Op{
			op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
			op(1, faults.RevokeAll, "", 2, 10, ok, revoked("u0-0")),
			op(2, faults.Start, "u0-1", 3, 4, ok, created, status("active")),
			op(3, faults.List, "", 11, 12, ok, func(o *faults.Op) {
				o.Sessions = map[string]string{"u0-0": "revoked", "u0-1": "active"}
			}),
		}},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := lin(t, tc.p, tc.ops...); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestCheckSample: the delivery checker blames a verifier that claims
// freshness past a known revocation, and nothing else.
func TestCheckSample(t *testing.T) {
	now := time.Now()
	sec := int64(time.Second)
	k := faults.Known{Session: "x0-1", At: 10 * sec, Why: "revoke op 1 answered 200", Expires: now.Add(time.Hour)}
	fresh := faults.Sample{Verifier: "v0", At: 12 * sec, Staleness: 100 * time.Millisecond, Bound: 2 * time.Second,
		Session: "x0-1", Answer: faults.Accepted}
	cases := []struct {
		name    string
		s       faults.Sample
		k       faults.Known
		promise string
	}{
		{"fresh verifier accepts a revoked session", fresh, k, "Delivered"},
		{"rejected", with(fresh, func(s *faults.Sample) { s.Answer = faults.Rejected }), k, ""},
		{"stale", with(fresh, func(s *faults.Sample) { s.Staleness = 3 * time.Second }), k, ""},
		{"fresh as of before the revocation", with(fresh, func(s *faults.Sample) { s.Staleness = 1900 * time.Millisecond }), k, ""},
		{"claims fresh long after", with(fresh, func(s *faults.Sample) { s.At = 20 * sec }), k, "Honest staleness"},
		{"expired session, Check", fresh, expires(k, now.Add(-time.Second)), ""},
		{"expired session, token within leeway", with(fresh, func(s *faults.Sample) { s.Token = true }), expires(k, now.Add(-time.Second)), "Delivered"},
		{"expired session, token past leeway", with(fresh, func(s *faults.Sample) { s.Token = true }), expires(k, now.Add(-time.Minute)), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := faults.CheckSample(tc.s, tc.k, now, 30*time.Second)
			got := ""
			if v != nil {
				got = v.Promise
			}
			if got != tc.promise {
				t.Errorf("violation %q, want %q (%v)", got, tc.promise, v)
			}
		})
	}
}

func with(s faults.Sample, f func(*faults.Sample)) faults.Sample { f(&s); return s }

func expires(k faults.Known, at time.Time) faults.Known { k.Expires = at; return k }

// TestExplain: an illegal history is explained by the operations that
// could not be placed.
func TestExplain(t *testing.T) {
	ops := []faults.Op{
		op(0, faults.Start, "u0-0", 0, 1, faults.OK, created, status("active")),
		op(0, faults.Revoke, "u0-0", 2, 3, faults.OK, status("revoked")),
		op(1, faults.Get, "u0-0", 4, 5, faults.OK, status("active")),
	}
	for i := range ops {
		ops[i].ID = i
	}
	pops := faults.Operations(ops, func(string) bool { return true }, persistedAll)
	got := faults.Explain(pops, ops, 10*time.Second)
	if !strings.Contains(got, "user u0") || !strings.Contains(got, `"kind":"get"`) {
		t.Errorf("explanation does not name the stuck get:\n%s", got)
	}
}

// TestCheckBlind: a verifier cut off from its feed may not claim
// freshness past the cut.
func TestCheckBlind(t *testing.T) {
	sec := int64(time.Second)
	if v := faults.CheckBlind("v0", 5*sec, 100*time.Millisecond, 2*time.Second, 3*sec); v == nil || v.Promise != "Honest staleness" {
		t.Errorf("fresh as of 4.9s with the feed cut at 3s: got %v", v)
	}
	if v := faults.CheckBlind("v0", 5*sec, 2100*time.Millisecond, 2*time.Second, 3*sec); v != nil {
		t.Errorf("stale: got %v", v)
	}
	if v := faults.CheckBlind("v0", 5*sec, 1900*time.Millisecond, 2*time.Second, 3*sec); v != nil {
		t.Errorf("fresh as of 3.1s, within slack of the cut: got %v", v)
	}
	if v := faults.CheckBlind("v0", 5*sec, 100*time.Millisecond, 2*time.Second, 0); v != nil {
		t.Errorf("not cut: got %v", v)
	}
}

// TestModelNotFoundRace: sessiond decides SESSION_NOT_FOUND by two reads,
// so a get racing the user's first start may answer it while the user was
// unknown; the model accepts that, and nothing looser.
func TestModelNotFoundRace(t *testing.T) {
	ok := faults.OK
	race := []faults.Op{
		op(0, faults.Start, "u0-0", 0, 10, ok, created, status("active")),
		op(1, faults.Get, "u0-0", 1, 2, ok, code("SESSION_NOT_FOUND")),
	}
	if got := lin(t, persistedAll, race...); got != porcupine.Ok {
		t.Errorf("race: got %s, want Ok", got)
	}
	wrong := []faults.Op{
		op(0, faults.Start, "u0-0", 0, 1, ok, created, status("active")),
		op(1, faults.Get, "u0-1", 2, 3, ok, code("USER_NOT_FOUND")),
	}
	if got := lin(t, persistedAll, wrong...); got != porcupine.Illegal {
		t.Errorf("USER_NOT_FOUND for a known user: got %s, want Illegal", got)
	}
}
