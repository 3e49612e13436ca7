package ssf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sessiond/sessiond/domain"
)

// pushBatch is how many log events a push worker reads at once.
const pushBatch = 200

// push delivers one push stream's SETs in log order until ctx ends or the
// stream is deleted. The checkpoint advances after each SET is accepted
// (or refused for good), so a restart re-sends at most the SET in flight.
func (t *Transmitter) push(ctx context.Context, id string) {
	log := t.slog.With("ssfStream", id)
	wake, cancel := t.log.Subscribe()
	defer cancel()
	var c *cursor
	for ctx.Err() == nil {
		snap := t.current()
		if c == nil {
			var err error
			if c, err = t.openCursor(ctx, snap, id); err != nil {
				log.Warn("ssf open stream", "err", err)
				sleep(ctx, t.opts.Refresh)
				continue
			}
		}
		if c.st.Deleted {
			return
		}
		if c.hold > 0 {
			if !resumable(c, snap) {
				t.wait(ctx, snap.changed, nil, t.opts.Refresh)
				continue
			}
			c.hold = 0
		}
		recs, err := t.log.ReadAll(ctx, c.pos, pushBatch)
		if err != nil {
			log.Warn("ssf read log", "err", err)
			sleep(ctx, t.opts.Refresh)
			continue
		}
		if len(recs) == 0 {
			t.wait(ctx, snap.changed, wake, t.opts.Refresh)
			continue
		}
		saved := c.pos
		for _, rec := range recs {
			before, beforePos := c.st.Clone(), c.pos
			it, err := t.step(c, rec)
			if err != nil {
				log.Error("ssf event", "position", rec.Position, "err", err)
				c = nil // reopen from the checkpoint after a pause
				sleep(ctx, t.opts.Refresh)
				break
			}
			if it != nil {
				switch t.deliver(ctx, c, it) {
				case stop:
					return
				case redo:
					c.st, c.pos = before, beforePos
				}
				if err := t.log.SaveCheckpoint(ctx, checkpointName(id), c.pos); err != nil && ctx.Err() == nil {
					log.Warn("ssf checkpoint", "err", err)
				}
				saved = c.pos
			}
			if c.hold > 0 || c.st.Deleted {
				break
			}
		}
		if c != nil && c.pos > saved {
			if err := t.log.SaveCheckpoint(ctx, checkpointName(id), c.pos); err != nil && ctx.Err() == nil {
				log.Warn("ssf checkpoint", "err", err)
			}
		}
	}
}

// verdict is what deliver decided about one SET.
type verdict int

const (
	done verdict = iota // delivered, or dropped: move on
	redo                // not delivered and the stream is now held: deliver it again later
	stop                // ctx ended or the stream is gone
)

// deliver pushes one SET, retrying transient failures with backoff. While
// it retries, a later pause holds it, a later disable drops it and a
// deletion ends the stream.
func (t *Transmitter) deliver(ctx context.Context, c *cursor, it *item) verdict {
	log := t.slog.With("ssfStream", c.id, "jti", it.jti, "position", it.pos)
	wait := t.opts.RetryMin
	for attempt := 1; ; attempt++ {
		snap := t.current()
		cur := snap.reg.Get(c.id)
		if cur == nil || cur.Deleted {
			return stop
		}
		if cur.LastStatusPos > it.pos {
			switch cur.Status {
			case domain.SSFDisabled:
				return done
			case domain.SSFPaused:
				c.hold = cur.LastStatusPos
				return redo
			}
		}
		it.claims["iat"] = time.Now().Unix()
		set, err := t.keys.Sign(it.claims)
		if err != nil {
			log.Error("ssf sign", "err", err)
			return stop
		}
		res := t.post(ctx, c.st, set)
		if ctx.Err() != nil {
			return stop
		}
		switch res.kind {
		case delivered:
			deliveries.WithLabelValues(c.id).Inc()
			if attempt > 1 {
				log.Info("ssf SET delivered after retries", "attempts", attempt)
			}
			return done
		case skipSET, pauseStream:
			failures.WithLabelValues(c.id, res.kind.String()).Inc()
			pause := res.kind == pauseStream
			log.Warn("ssf receiver refused SET", "status", res.status, "err", res.setErr.Err, "description", res.setErr.Description, "pause", pause)
			f := domain.SSFDeliveryFailed{ID: c.id, JTI: it.jti, Position: it.pos, HTTPStatus: res.status,
				Err: res.setErr.Err, Description: res.setErr.Description, Skipped: !pause}
			reason := fmt.Sprintf("push delivery refused: HTTP %d %s", res.status, res.setErr.Err)
			if err := t.rec.RecordFailure(ctx, f, pause, strings.TrimSpace(reason)); err != nil {
				log.Warn("ssf record failure", "err", err)
				sleep(ctx, wait)
				continue
			}
			if !pause {
				return done
			}
			snap, _ = t.reload(ctx)
			if cur := snap.reg.Get(c.id); cur != nil {
				c.hold = cur.LastStatusPos
			}
			return redo
		default:
			failures.WithLabelValues(c.id, "transient").Inc()
			if res.retryAfter > wait {
				wait = min(res.retryAfter, t.opts.RetryMax)
			}
			log.Info("ssf push failed; retrying", "status", res.status, "err", res.err, "attempt", attempt, "wait", wait)
			t.wait(ctx, snap.changed, nil, jitter(wait))
			wait = min(wait*2, t.opts.RetryMax)
		}
	}
}

// outcome classifies a push response (RFC 8935 section 2.3).
type outcome int

const (
	delivered   outcome = iota
	transient           // retry later: network error, 408, 425, 429, 5xx
	skipSET             // this SET is refused (400 invalid_request, 413…): record it, go on
	pauseStream         // the stream is misconfigured (401, 403, 404, auth errors): record, pause, hold
)

func (o outcome) String() string {
	return [...]string{"delivered", "transient", "skipped", "paused"}[o]
}

type pushResult struct {
	kind       outcome
	status     int
	setErr     domain.SETError
	retryAfter time.Duration
	err        error
}

// streamErrors are RFC 8935 error codes that concern every SET of the
// stream, not just this one: retrying other SETs cannot help.
var streamErrors = map[string]bool{"invalid_key": true, "invalid_issuer": true, "invalid_audience": true,
	"authentication_failed": true, "access_denied": true}

// post sends one SET (RFC 8935 section 2).
func (t *Transmitter) post(ctx context.Context, st *domain.SSFStream, set string) pushResult {
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, st.Config.Delivery.EndpointURL, strings.NewReader(set))
	if err != nil {
		return pushResult{kind: pauseStream, setErr: domain.SETError{Err: "endpoint", Description: err.Error()}}
	}
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	if h := st.Config.Delivery.AuthorizationHeader; h != "" {
		plain, err := t.keys.Unseal(h)
		if err != nil {
			return pushResult{kind: pauseStream, setErr: domain.SETError{Err: "authorization_header", Description: err.Error()}}
		}
		req.Header.Set("Authorization", plain)
	}
	resp, err := t.opts.Client.Do(req)
	if err != nil {
		return pushResult{kind: transient, err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<10))
	r := pushResult{status: resp.StatusCode}
	var e domain.SETError
	if json.Unmarshal(body, &e) == nil {
		r.setErr = domain.SETError{Err: truncate(e.Err, 64), Description: truncate(e.Description, 256)}
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		r.kind = delivered
	case s == 408 || s == 425 || s == 429 || s >= 500:
		r.kind = transient
		r.retryAfter = retryAfter(resp.Header.Get("Retry-After"))
	case s == http.StatusBadRequest && !streamErrors[r.setErr.Err], s == http.StatusRequestEntityTooLarge, s == http.StatusUnprocessableEntity:
		r.kind = skipSET
	default: // 3xx (never followed), 401, 403, 404, 400 with a stream-wide error…
		r.kind = pauseStream
	}
	return r
}

// wait blocks until ctx ends, changed or wake fires, or d passes.
func (t *Transmitter) wait(ctx context.Context, changed, wake <-chan struct{}, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-changed:
	case <-wake:
	case <-tm.C:
	}
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return time.Until(at)
	}
	return 0
}

// jitter spreads retries over [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
