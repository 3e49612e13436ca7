package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

type integrityView struct {
	Position     int64
	Hash         string
	Checkpoint   *domain.AuditCheckpoint
	CheckpointAt int64
	Last         *jobStatus // the newest verification on this server
	Witnesses    []witnessView
	WitnessError string // why the witnesses could not be read, in words
}

// witnessView is what one witness outside the database holds.
type witnessView struct {
	Name   string
	Held   int  // checkpoints it holds
	Newest bool // it holds the newest checkpoint of the log
}

// integrity is GET /console/integrity: the head, the newest signed
// checkpoint, and "verify now".
func (c *Console) integrity(w http.ResponseWriter, r *http.Request) {
	pos, hash, err := c.audit.Head(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := integrityView{Position: pos, Hash: hexOf(hash)}
	if job := c.jobs.last(); job != nil {
		st := c.statusOf(job)
		v.Last = &st
	}
	if v.Checkpoint, v.CheckpointAt, err = c.audit.LatestCheckpoint(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	if c.opts.Witnesses != nil {
		copies, err := c.opts.Witnesses(r.Context())
		if err != nil {
			v.WitnessError = err.Error()
		}
		for _, w := range copies {
			wv := witnessView{Name: w.Name, Held: len(w.Checkpoints)}
			if v.Checkpoint != nil {
				wv.Newest = slices.Contains(w.Checkpoints, v.Checkpoint.Signature)
			}
			v.Witnesses = append(v.Witnesses, wv)
		}
	}
	c.render(w, r, http.StatusOK, "integrity", v)
}

// verifyJob is one server-side verification.
type verifyJob struct {
	ID      string
	By      string
	Started time.Time

	checked, total atomic.Int64
	done           chan struct{}
	report         VerifyReport
	err            error
	finished       time.Time
}

// verifyJobs keeps the recent verifications of this process; one runs at
// a time.
type verifyJobs struct {
	mu   sync.Mutex
	byID map[string]*verifyJob
	list []*verifyJob
}

func newVerifyJobs() *verifyJobs { return &verifyJobs{byID: map[string]*verifyJob{}} }

func (j *verifyJobs) get(id string) *verifyJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.byID[id]
}

func (j *verifyJobs) last() *verifyJob {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.list) == 0 {
		return nil
	}
	return j.list[len(j.list)-1]
}

// start runs run in the background unless a verification is running
// already, which it returns instead.
func (j *verifyJobs) start(by string, now time.Time, run func(*verifyJob)) (*verifyJob, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if n := len(j.list); n > 0 && !j.list[n-1].finishedNow() {
		return j.list[n-1], nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	job := &verifyJob{ID: id.String(), By: by, Started: now, done: make(chan struct{})}
	j.byID[job.ID] = job
	j.list = append(j.list, job)
	if len(j.list) > 20 {
		delete(j.byID, j.list[0].ID)
		j.list = j.list[1:]
	}
	go run(job)
	return job, nil
}

func (job *verifyJob) finishedNow() bool {
	select {
	case <-job.done:
		return true
	default:
		return false
	}
}

// startVerify is POST /console/integrity/verify.
func (c *Console) startVerify(w http.ResponseWriter, r *http.Request) {
	if c.opts.Verify == nil {
		c.fail(w, r, domain.Errorf(domain.CodeUnavailable, "verification is not available on this server"))
		return
	}
	job, err := c.jobs.start(current(r).Name(), c.opts.Clock(), func(job *verifyJob) {
		defer close(job.done)
		ctx, cancel := context.WithTimeout(c.bg, time.Hour)
		defer cancel()
		job.report, job.err = c.opts.Verify(ctx, func(checked, total int64) {
			job.checked.Store(checked)
			job.total.Store(total)
		})
		job.finished = c.opts.Clock()
		if job.err != nil {
			c.log.Error("console verification failed", "err", job.err, "job", job.ID)
		}
	})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, Prefix+"integrity/verify/"+job.ID, http.StatusSeeOther)
}

// jobStatus is a verification as the page and its script see it.
type jobStatus struct {
	ID       string `json:"id"`
	Done     bool   `json:"done"`
	Checked  int64  `json:"checked"`
	Total    int64  `json:"total"`
	Outcome  string `json:"outcome"` // running, intact, broken, failed
	Words    string `json:"words"`
	Position int64  `json:"position,omitempty"` // the first broken position
	By       string `json:"by"`
}

func (c *Console) statusOf(job *verifyJob) jobStatus {
	s := jobStatus{ID: job.ID, Checked: job.checked.Load(), Total: job.total.Load(), Outcome: "running", By: job.By,
		Words: "Verifying: recomputing every hash of the log."}
	if !job.finishedNow() {
		return s
	}
	s.Done = true
	rep := job.report
	switch {
	case job.err != nil:
		s.Outcome = "failed"
		s.Words = "Verification could not finish: " + words[failureCode(job.err)] + " Nothing is known about the log's integrity from this run."
	case rep.Broken != nil:
		s.Outcome, s.Position = "broken", rep.Broken.Position
		s.Words = fmt.Sprintf("BROKEN at position %d: %s. The log does not match what was recorded from position %d on; events before it verified intact.",
			rep.Broken.Position, rep.Broken.Reason, rep.Broken.Position)
	default:
		s.Outcome = "intact"
		signed := "their signatures were checked"
		if rep.Unsigned {
			signed = "their signatures were NOT checked: this server has no public keys for them"
		}
		if rep.Checked == 0 {
			s.Words = "INTACT: the log is empty, so there is nothing to verify."
		} else {
			s.Words = fmt.Sprintf("INTACT: all %d events (positions %d to %d) match their hashes, head hash %x. %d signed checkpoints match the log; %s.",
				rep.Checked, rep.From, rep.To, rep.HeadHash, rep.Checkpoints, signed)
		}
	}
	return s
}

// verifyPage is GET /console/integrity/verify/{job}.
func (c *Console) verifyPage(w http.ResponseWriter, r *http.Request) {
	job := c.jobs.get(r.PathValue("job"))
	if job == nil {
		c.fail(w, r, domain.Errorf(domain.CodeRouteNotFound, "no such verification on this server (they are kept in memory)"))
		return
	}
	c.render(w, r, http.StatusOK, "verify", c.statusOf(job))
}

// verifyStatus is the progress of a verification as JSON, for the page's
// script.
func (c *Console) verifyStatus(w http.ResponseWriter, r *http.Request) {
	job := c.jobs.get(r.PathValue("job"))
	if job == nil {
		c.fail(w, r, domain.Errorf(domain.CodeRouteNotFound, "no such verification on this server"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c.statusOf(job))
}

// failureCode is the code of a verification error: an unreachable store
// is UNAVAILABLE, anything else INTERNAL.
func failureCode(err error) domain.Code {
	if app.Unavailable(err) {
		return domain.CodeUnavailable
	}
	return domain.ErrorCode(err)
}
