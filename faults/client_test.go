package faults_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sessiond/sessiond/faults"
)

// requestTimeout is how long a client waits for an answer; past it the
// outcome is unknown. It outlasts sessiond's 10 s request deadline, so the
// server's own answer (a 503 or a late 200) is what gets judged.
const requestTimeout = 12 * time.Second

// sessionsOf hands out session ids "<user>-<n>" and remembers the ids
// issued per user and the tokens minted, for later operations and token
// checks.
type sessionsOf struct {
	mu     sync.Mutex
	next   map[string]int
	issued map[string][]string
	tokens map[string]string
}

func newSessions() *sessionsOf {
	return &sessionsOf{next: map[string]int{}, issued: map[string][]string{}, tokens: map[string]string{}}
}

func (s *sessionsOf) fresh(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("%s-%d", user, s.next[user])
	s.next[user]++
	s.issued[user] = append(s.issued[user], id)
	return id
}

func (s *sessionsOf) pick(rng *rand.Rand, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := s.issued[user]
	if len(ids) == 0 {
		return fmt.Sprintf("%s-%d", user, 1000+rng.IntN(10)) // never started: a 404
	}
	if rng.IntN(3) == 0 { // favour recent sessions: more contention
		return ids[max(0, len(ids)-1-rng.IntN(min(len(ids), 4)))]
	}
	return ids[rng.IntN(len(ids))]
}

func (s *sessionsOf) setToken(id, tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = tok
}

func (s *sessionsOf) token(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[id]
}

// client runs workload operations against random replicas and records
// them.
type client struct {
	id   int
	c    *cluster
	ss   *sessionsOf
	rng  *rand.Rand
	http *http.Client
}

// call sends one request to replica rep and classifies its outcome.
// Definite failures: the connection was refused (nothing was sent), 503
// UNAVAILABLE (the contract: nothing was recorded), or any other 4xx but
// 404. Unknown: timeouts, broken connections and other 5xx.
func (cl *client) call(ctx context.Context, op *faults.Op, method, path, body string) (faults.Op, []byte) {
	done := *op
	rep := cl.c.reps[op.Replica]
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, rep.url()+path, rd)
	req.Header.Set("Authorization", "Bearer "+cl.c.key)
	req.Header.Set("X-Request-Id", fmt.Sprintf("faults-%d", op.ID))
	resp, err := cl.http.Do(req)
	if err != nil {
		done.Err = err.Error()
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			done.Outcome = faults.Fail
		} else {
			done.Outcome = faults.Unknown
		}
		return done, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	done.HTTP = resp.StatusCode
	if err != nil {
		done.Err, done.Outcome = err.Error(), faults.Unknown
		return done, nil
	}
	var e struct{ Code string }
	if resp.StatusCode >= 300 {
		_ = json.Unmarshal(b, &e)
		done.Code = e.Code
	}
	switch {
	case resp.StatusCode < 300, resp.StatusCode == http.StatusNotFound:
		done.Outcome = faults.OK
	case resp.StatusCode == http.StatusServiceUnavailable && e.Code == "UNAVAILABLE" && strict503:
		done.Outcome = faults.Fail
	case resp.StatusCode >= 500:
		done.Outcome = faults.Unknown
	default:
		done.Outcome = faults.Fail
	}
	return done, b
}

type sessionBody struct {
	SessionID      string    `json:"sessionId"`
	Status         string    `json:"status"`
	ExpiresAt      time.Time `json:"expiresAt"`
	Token          string    `json:"token"`
	AlreadyRevoked bool      `json:"alreadyRevoked"`
	Broadcast      struct {
		Status string `json:"status"`
	} `json:"broadcast"`
}

func (cl *client) invoke(kind faults.Kind, user, session string) *faults.Op {
	return cl.c.hist.Invoke(faults.Op{Client: cl.id, Replica: cl.rng.IntN(len(cl.c.reps)), Kind: kind, User: user, Session: session})
}

func (cl *client) start(ctx context.Context, user, session string, ttl int) {
	op := cl.invoke(faults.Start, user, session)
	done, b := cl.call(ctx, op, "POST", "/auth/admin/api/users/"+user+"/sessions",
		fmt.Sprintf(`{"sessionId":%q,"ttlSeconds":%d}`, session, ttl))
	if done.Outcome == faults.OK && done.Code == "" {
		var s sessionBody
		_ = json.Unmarshal(b, &s)
		done.Created, done.Status, done.ExpiresAt = done.HTTP == http.StatusCreated, s.Status, s.ExpiresAt
		cl.c.know.Started(session, s.ExpiresAt)
		if s.Token != "" {
			cl.ss.setToken(session, s.Token)
		}
	}
	cl.observe(cl.c.hist.Complete(op, done))
}

func (cl *client) revoke(ctx context.Context, user, session string) {
	op := cl.invoke(faults.Revoke, user, session)
	done, b := cl.call(ctx, op, "DELETE", "/auth/admin/api/users/"+user+"/sessions/"+session, `{"reason":"faults"}`)
	if done.Outcome == faults.OK && done.Code == "" {
		var s sessionBody
		_ = json.Unmarshal(b, &s)
		done.Status, done.AlreadyRevoked, done.Broadcast = s.Status, s.AlreadyRevoked, s.Broadcast.Status
		cl.c.know.Started(session, s.ExpiresAt)
	}
	cl.observe(cl.c.hist.Complete(op, done))
}

func (cl *client) revokeAll(ctx context.Context, user string) {
	op := cl.invoke(faults.RevokeAll, user, "")
	done, b := cl.call(ctx, op, "DELETE", "/auth/admin/api/users/"+user+"/sessions", `{"reason":"faults"}`)
	if done.Outcome == faults.OK && done.Code == "" {
		var r struct {
			Sessions  []sessionBody `json:"sessions"`
			Broadcast struct {
				Status string `json:"status"`
			} `json:"broadcast"`
		}
		_ = json.Unmarshal(b, &r)
		done.Revoked = []string{}
		for _, s := range r.Sessions {
			done.Revoked = append(done.Revoked, s.SessionID)
			cl.c.know.Started(s.SessionID, s.ExpiresAt)
		}
		done.Broadcast = r.Broadcast.Status
	}
	cl.observe(cl.c.hist.Complete(op, done))
}

func (cl *client) get(ctx context.Context, user, session string) {
	op := cl.invoke(faults.Get, user, session)
	done, b := cl.call(ctx, op, "GET", "/auth/admin/api/users/"+user+"/sessions/"+session, "")
	if done.Outcome == faults.OK && done.Code == "" {
		var s sessionBody
		_ = json.Unmarshal(b, &s)
		done.Status = s.Status
		cl.c.know.Started(session, s.ExpiresAt)
	}
	cl.observe(cl.c.hist.Complete(op, done))
}

func (cl *client) list(ctx context.Context, user string) {
	cl.finishList(ctx, cl.invoke(faults.List, user, ""))
}

func (cl *client) finishList(ctx context.Context, op *faults.Op) {
	done, b := cl.call(ctx, op, "GET", "/auth/admin/api/users/"+op.User+"/sessions?limit=1000", "")
	if done.Outcome == faults.OK && done.Code == "" {
		var r struct {
			Sessions []sessionBody `json:"sessions"`
		}
		_ = json.Unmarshal(b, &r)
		done.Sessions = map[string]string{}
		for _, s := range r.Sessions {
			done.Sessions[s.SessionID] = s.Status
			cl.c.know.Started(s.SessionID, s.ExpiresAt)
		}
	}
	cl.observe(cl.c.hist.Complete(op, done))
}

// observe learns revocations from a completed operation and checks that
// no read shows a session active after its revocation was known: the
// "never resurrected" promise on the API, judged online (porcupine judges
// the whole history afterwards).
func (cl *client) observe(o faults.Op) {
	if o.Outcome != faults.OK || o.Code != "" {
		return
	}
	why := fmt.Sprintf("%s op %d answered %d", o.Kind, o.ID, o.HTTP)
	statuses := map[string]string{}
	switch o.Kind {
	case faults.Revoke:
		why += " (" + o.Broadcast + ")"
		statuses[o.Session] = faults.Revoked
	case faults.RevokeAll:
		why += " (" + o.Broadcast + ")"
		for _, s := range o.Revoked {
			statuses[s] = faults.Revoked
		}
	case faults.Start, faults.Get:
		statuses[o.Session] = o.Status
	case faults.List:
		statuses = o.Sessions
	}
	for s, st := range statuses {
		switch st {
		case faults.Revoked:
			cl.c.know.Revoked(s, o.Return, why)
		case faults.Active:
			if k, ok := cl.c.know.RevokedAt(s); ok && k.At < o.Call {
				cl.c.violate(faults.Violation{Promise: "Never resurrected", Checker: "API read", Detail: fmt.Sprintf(
					"%s op %d (replica %d, t=%s) read session %s active; its revocation was known since t=%s: %s",
					o.Kind, o.ID, o.Replica, time.Duration(o.Call).Round(time.Millisecond), s,
					time.Duration(k.At).Round(time.Millisecond), k.Why)})
			}
		}
	}
}

// run invokes random operations until stop is closed. Users u0… carry
// long sessions and are checked for linearizability; x0… carry sessions
// of two seconds, revoked at once, whose tokens the verifiers keep
// checking past their expiry (within the token leeway).
func (cl *client) run(stop <-chan struct{}) {
	ctx := context.Background()
	for {
		select {
		case <-stop:
			return
		default:
		}
		user := fmt.Sprintf("u%d", cl.rng.IntN(userCount))
		switch p := cl.rng.IntN(100); {
		case p < 25:
			cl.start(ctx, user, cl.ss.fresh(user), 3600)
		case p < 47:
			cl.revoke(ctx, user, cl.ss.pick(cl.rng, user))
		case p < 67:
			cl.get(ctx, user, cl.ss.pick(cl.rng, user))
		case p < 77:
			cl.list(ctx, user)
		case p < 82:
			cl.revokeAll(ctx, user)
		default:
			x := fmt.Sprintf("x%d", cl.rng.IntN(3))
			id := cl.ss.fresh(x)
			cl.start(ctx, x, id, 2)
			cl.revoke(ctx, x, id)
		}
		hold(stop, time.Duration(5+cl.rng.IntN(15))*time.Millisecond) // think time
	}
}
