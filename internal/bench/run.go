package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is one run's figures.
type Result struct {
	Config      Config
	Started     time.Time
	Start       *Phase // session starts
	Revoke      *Phase // revocations
	Broadcast   map[string]int
	Propagation *hdrhistogram.Histogram // DELETE sent → verifier applied, every verifier
	Missing     int                     // (verifier, session) pairs never applied
	Yardstick   *Yardstick              // nil without a database URL
}

// Ratio is the revoke throughput over the yardstick's; 0 without one.
func (r *Result) Ratio() float64 {
	if r.Yardstick == nil || r.Yardstick.Phase.Throughput() == 0 {
		return 0
	}
	return r.Revoke.Throughput() / r.Yardstick.Phase.Throughput()
}

// Run measures: it starts cfg.Sessions sessions, revokes each once with
// verifiers following, then runs the yardstick. Progress lines go to log.
func Run(ctx context.Context, cfg Config, log func(string)) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if log == nil {
		log = func(string) {}
	}
	res := &Result{Config: cfg, Started: time.Now().UTC(), Broadcast: map[string]int{}}
	run := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	c := newClient(cfg.Target, cfg.Key, cfg.Clients)

	var f *followers
	if cfg.Verifiers > 0 {
		var err error
		if f, err = follow(ctx, cfg.NATSURL, cfg.Verifiers); err != nil {
			return nil, err
		}
		defer f.close()
	}

	log(fmt.Sprintf("starting %d sessions with %d clients", cfg.Sessions, cfg.Clients))
	cpu := startCPU()
	res.Start = drive(ctx, "start", cfg.Sessions, cfg.Clients, 0, nil, func(ctx context.Context, i int) outcome {
		u, s := sessionPath(run, i)
		o, _ := c.do(ctx, "POST", "/auth/admin/api/users/"+u+"/sessions", `{"sessionId":"`+s+`","ttlSeconds":3600}`, 201)
		return o
	})
	res.Start.CPU = cpu.stop()
	if res.Start.Ops == 0 {
		return res, fmt.Errorf("no session could be started: %v", res.Start.Errors)
	}

	pace := "full speed"
	if cfg.Rate > 0 {
		pace = fmt.Sprintf("%.0f/s", cfg.Rate)
	}
	log(fmt.Sprintf("revoking them at %s", pace))
	sent := make([]time.Time, cfg.Sessions)
	published := make([]bool, cfg.Sessions)
	revoked := make([]bool, cfg.Sessions)
	cpu = startCPU()
	res.Revoke = drive(ctx, "revoke", cfg.Sessions, cfg.Clients, cfg.Rate, sent, func(ctx context.Context, i int) outcome {
		u, s := sessionPath(run, i)
		o, body := c.do(ctx, "DELETE", "/auth/admin/api/users/"+u+"/sessions/"+s, `{"reason":"sessiond bench"}`, 200)
		if o == "" {
			revoked[i] = true
			published[i] = bytes.Contains(body, []byte(`"broadcast":{"status":"published"}`))
		}
		return o
	})
	res.Revoke.CPU = cpu.stop()
	var ids []string
	var idSent []time.Time
	for i, ok := range revoked {
		if !ok {
			continue
		}
		_, s := sessionPath(run, i)
		ids, idSent = append(ids, s), append(idSent, sent[i])
		if published[i] {
			res.Broadcast["published"]++
		} else {
			res.Broadcast["pending"]++
		}
	}
	if f != nil {
		log(fmt.Sprintf("waiting for %d verifier(s) to apply %d revocations", cfg.Verifiers, len(ids)))
		res.Missing = f.await(ids, cfg.Propagation)
		res.Propagation = f.latencies(ids, idSent)
	}
	if cfg.DatabaseURL != "" {
		log(fmt.Sprintf("yardstick: single-row INSERT, %d clients, %v", cfg.Clients, cfg.YardstickTime))
		y, err := runYardstick(ctx, cfg.DatabaseURL, cfg.Clients, cfg.YardstickTime)
		if err != nil {
			return res, err
		}
		res.Yardstick = y
	}
	return res, nil
}
