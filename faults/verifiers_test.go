package faults_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/faults"
	"github.com/sessiond/sessiond/internal/netfault"
	"github.com/sessiond/sessiond/verifier"
)

// leeway is the verifiers' token leeway: as long as the largest clock
// jump, so a jump forward sweeps revocations whose tokens pass their exp
// check again once the clock is back (the SDK must still refuse them),
// while Check, which keeps its promise for steps within the leeway, can
// be held to it.
const leeway = maxJump

// edge is one verifier in the test process, behind its own NATS proxy,
// closed and opened again by the nemesis, on its own clock the nemesis
// can jump. It checks every known revocation continuously, with Check and
// with its token through the middleware.
type edge struct {
	name       string
	failClosed bool
	proxy      *netfault.Proxy
	c          *cluster
	ss         *sessionsOf

	mu  sync.Mutex
	nc  *nats.Conn
	v   *verifier.Verifier
	mw  http.Handler
	gen int

	clock faults.Clock // the machine's clock: it outlives a verifier restart

	checks, tokenChecks atomic.Int64
	blindSince          atomic.Int64 // history time the nemesis cut its feed; 0 when not cut
}

func (e *edge) opts() []verifier.Option {
	o := []verifier.Option{
		verifier.WithJWKS(e.c.jwks), verifier.WithIssuer("http://sessiond.faults"),
		verifier.WithLeeway(leeway), verifier.WithLoadTimeout(10 * time.Second),
		verifier.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		verifier.WithClock(e.clock.Now),
	}
	if e.failClosed {
		return append(o, verifier.WithFailClosed(bound))
	}
	return append(o, verifier.WithMaxStaleness(bound))
}

// open connects and loads a verifier; it fails while NATS is unreachable.
func (e *edge) open(ctx context.Context) error {
	nc, err := nats.Connect("nats://"+e.proxy.Addr(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.Timeout(2*time.Second))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := verifier.New(ctx, nc, e.opts()...)
	if err != nil {
		nc.Close()
		return err
	}
	e.mu.Lock()
	e.nc, e.v, e.gen = nc, v, e.gen+1
	e.mw = v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	e.mu.Unlock()
	e.c.note("verifier %s: opened (incarnation %d)", e.name, e.gen)
	return nil
}

// close shuts the verifier down; restart opens it again.
func (e *edge) close() {
	e.mu.Lock()
	v, nc := e.v, e.nc
	e.v, e.nc, e.mw = nil, nil, nil
	e.mu.Unlock()
	if v != nil {
		v.Close()
		nc.Close()
	}
}

func (e *edge) current() (*verifier.Verifier, http.Handler, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.v, e.mw, e.gen
}

// run checks continuously until stop is closed, reopening the verifier
// whenever it is closed.
func (e *edge) run(stop <-chan struct{}) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		v, mw, gen := e.current()
		if v == nil {
			continue
		}
		e.pass(v, mw, gen)
	}
}

// pass judges one round of answers: the staleness is read first, so every
// answer after it reflects a state at least as new as the claim. Each
// answer is judged with the verifier clock's earliest offset around it.
func (e *edge) pass(v *verifier.Verifier, mw http.Handler, gen int) {
	name := fmt.Sprintf("%s#%d", e.name, gen)
	off := e.clock.Offset()
	at := e.c.hist.Now()
	st := v.Staleness()
	wall := time.Now()
	offset := func() time.Duration { o := e.clock.Offset(); off = min(off, o); return off }
	if bv := faults.CheckBlind(name, at, st, bound, e.blindSince.Load()); bv != nil {
		e.c.violate(*bv, e.name, "blind")
	}
	for _, k := range e.c.know.All() {
		ans := answerOf(v.Check(k.Session))
		e.checks.Add(1)
		e.judge(faults.Sample{Verifier: name, At: at, Staleness: st, Bound: bound, Session: k.Session, Answer: ans,
			Offset: offset()}, k, wall)
		if !strings.HasPrefix(k.Session, "x") {
			continue
		}
		tok := e.ss.token(k.Session)
		// Presented until it cannot pass even on a clock set back by the
		// largest jump.
		if tok == "" || (!k.Expires.IsZero() && wall.After(k.Expires.Add(leeway+maxJump+time.Second))) {
			continue
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		mw.ServeHTTP(rec, req)
		e.tokenChecks.Add(1)
		e.judge(faults.Sample{Verifier: name, At: at, Staleness: st, Bound: bound, Token: true, Session: k.Session,
			Answer: tokenAnswer(rec), Offset: offset()}, k, wall)
	}
}

func (e *edge) judge(s faults.Sample, k faults.Known, wall time.Time) {
	if s.Answer == faults.Rejected {
		e.c.know.Revoked(s.Session, e.c.hist.Now(), "verifier "+s.Verifier+" rejected it")
	}
	if v := faults.CheckSample(s, k, wall, leeway); v != nil {
		e.c.violate(*v, e.name, s.Session, fmt.Sprint(s.Token))
	}
}

func answerOf(err error) faults.Answer {
	switch {
	case err == nil:
		return faults.Accepted
	case errors.Is(err, verifier.ErrRevoked):
		return faults.Rejected
	case errors.Is(err, verifier.ErrStale):
		return faults.Stale
	}
	return faults.Other
}

func tokenAnswer(rec *httptest.ResponseRecorder) faults.Answer {
	switch {
	case rec.Code == http.StatusOK:
		return faults.Accepted
	case strings.Contains(rec.Body.String(), verifier.CodeSessionRevoked):
		return faults.Rejected
	case strings.Contains(rec.Body.String(), verifier.CodeRevocationsStale):
		return faults.Stale
	}
	return faults.Other
}
