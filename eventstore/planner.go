package eventstore

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Planner decides, under a store's append lock, what each request of a
// batch records: it checks idempotency and versions, assigns positions and
// extends the hash chain in memory. Stores fill in what they read (the
// head, stream versions, recorded event ids), call Add per request, then
// write Recs.
type Planner struct {
	Now      time.Time // recorded_at of the batch
	LastPos  int64
	PrevHash []byte
	Versions map[string]int64
	Existing map[uuid.UUID]Recorded

	// Assume: streams not in Versions are taken to be at the version the
	// request expects; Assumed records those guesses for a guard to
	// check in the database.
	Assume  bool
	Assumed map[string]int64

	Recs []Recorded // to insert, in position order

	unmet map[*Request]error // preconditions that do not hold (Checked)
}

// NewPlanner returns an empty planner for a batch recorded at now.
func NewPlanner(now time.Time) *Planner {
	return &Planner{
		Now:      NormalizeTime(now),
		PrevHash: GenesisHash,
		Versions: make(map[string]int64),
		Existing: make(map[uuid.UUID]Recorded),
		Assumed:  make(map[string]int64),
	}
}

// Add plans one request. On error nothing of the request is planned.
func (p *Planner) Add(appends []StreamAppend) ([]Recorded, error) {
	if recs, ok, err := p.replay(appends); ok || err != nil {
		return recs, err
	}
	return p.add(appends)
}

// add plans new events, checking versions.
func (p *Planner) add(appends []StreamAppend) ([]Recorded, error) {
	versions := make(map[string]int64)
	assumed := make(map[string]int64)
	for _, sa := range appends {
		cur, seen := versions[sa.StreamID]
		if !seen {
			var known bool
			if cur, known = p.Versions[sa.StreamID]; !known && p.Assume {
				cur = sa.ExpectedVersion
				assumed[sa.StreamID] = cur
			}
		}
		if sa.ExpectedVersion != AnyVersion && sa.ExpectedVersion != cur {
			return nil, &ConflictError{StreamID: sa.StreamID, Expected: sa.ExpectedVersion, Actual: cur}
		}
		versions[sa.StreamID] = cur + int64(len(sa.Events))
	}

	out := make([]Recorded, 0, len(appends))
	pos, prev := p.LastPos, p.PrevHash
	for _, sa := range appends {
		ver, ok := p.Versions[sa.StreamID]
		if !ok {
			ver = assumed[sa.StreamID]
		}
		for _, e := range sa.Events {
			// Several appends of one request to one stream follow each other.
			if v, ok := versionsSoFar(out, sa.StreamID); ok {
				ver = v
			}
			pos++
			ver++
			rec := Recorded{
				Position:      pos,
				StreamID:      sa.StreamID,
				StreamVersion: ver,
				EventID:       e.EventID,
				Type:          e.Type,
				Data:          e.Data,
				Metadata:      e.Metadata,
				Event:         e.Event,
				RecordedAt:    p.Now,
				PrevHash:      prev,
			}
			h := ComputeHashCanonical(prev, &rec)
			rec.Hash, prev = h, h
			out = append(out, rec)
		}
	}
	p.LastPos, p.PrevHash = pos, prev
	for id, v := range versions {
		p.Versions[id] = v
	}
	for id, v := range assumed {
		p.Assumed[id] = v
	}
	for _, r := range out {
		p.Existing[r.EventID] = r
	}
	p.Recs = append(p.Recs, out...)
	return out, nil
}

// replay reports whether every event of the request is recorded already
// (ok), returning the originals. Some but not all is an error.
func (p *Planner) replay(appends []StreamAppend) (recs []Recorded, ok bool, err error) {
	total, found := 0, 0
	for _, sa := range appends {
		for _, e := range sa.Events {
			total++
			if r, hit := p.Existing[e.EventID]; hit {
				found++
				recs = append(recs, r)
			}
		}
	}
	switch found {
	case 0:
		return nil, false, nil
	case total:
		return recs, true, nil
	default:
		return nil, false, fmt.Errorf("%w: %d of %d", ErrPartialDuplicate, found, total)
	}
}

// versionsSoFar returns the last version planned for stream in out.
func versionsSoFar(out []Recorded, stream string) (int64, bool) {
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].StreamID == stream {
			return out[i].StreamVersion, true
		}
	}
	return 0, false
}
