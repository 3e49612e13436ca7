package pgstore

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/eventstore"
)

// planner decides, under the append lock, what each request of a batch
// records: it checks idempotency and versions, assigns positions and
// extends the hash chain in memory.
type planner struct {
	now      time.Time
	lastPos  int64
	prevHash []byte
	versions map[string]int64
	existing map[uuid.UUID]eventstore.Recorded

	// assume: streams not in versions are taken to be at the version the
	// request expects; assumed records those guesses for the guard to
	// check in the database.
	assume  bool
	assumed map[string]int64

	recs []eventstore.Recorded // to insert, in position order
}

func newPlanner(now time.Time) *planner {
	return &planner{
		now:      eventstore.NormalizeTime(now),
		versions: make(map[string]int64),
		existing: make(map[uuid.UUID]eventstore.Recorded),
		assumed:  make(map[string]int64),
	}
}

// add plans one request. On error nothing of the request is planned.
func (p *planner) add(appends []eventstore.StreamAppend) ([]eventstore.Recorded, error) {
	if recs, ok, err := p.replay(appends); ok || err != nil {
		return recs, err
	}
	versions := make(map[string]int64)
	assumed := make(map[string]int64)
	for _, sa := range appends {
		cur, seen := versions[sa.StreamID]
		if !seen {
			var known bool
			if cur, known = p.versions[sa.StreamID]; !known && p.assume {
				cur = sa.ExpectedVersion
				assumed[sa.StreamID] = cur
			}
		}
		if sa.ExpectedVersion != eventstore.AnyVersion && sa.ExpectedVersion != cur {
			return nil, &eventstore.ConflictError{StreamID: sa.StreamID, Expected: sa.ExpectedVersion, Actual: cur}
		}
		versions[sa.StreamID] = cur + int64(len(sa.Events))
	}

	out := make([]eventstore.Recorded, 0, len(appends))
	pos, prev := p.lastPos, p.prevHash
	for _, sa := range appends {
		ver, ok := p.versions[sa.StreamID]
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
			rec := eventstore.Recorded{
				Position:      pos,
				StreamID:      sa.StreamID,
				StreamVersion: ver,
				EventID:       e.EventID,
				Type:          e.Type,
				Data:          e.Data,
				Metadata:      e.Metadata,
				RecordedAt:    p.now,
				PrevHash:      prev,
			}
			h := eventstore.ComputeHashCanonical(prev, &rec)
			rec.Hash, prev = h, h
			out = append(out, rec)
		}
	}
	p.lastPos, p.prevHash = pos, prev
	for id, v := range versions {
		p.versions[id] = v
	}
	for id, v := range assumed {
		p.assumed[id] = v
	}
	for _, r := range out {
		p.existing[r.EventID] = r
	}
	p.recs = append(p.recs, out...)
	return out, nil
}

// replay reports whether every event of the request is recorded already
// (ok), returning the originals. Some but not all is an error.
func (p *planner) replay(appends []eventstore.StreamAppend) (recs []eventstore.Recorded, ok bool, err error) {
	total, found := 0, 0
	for _, sa := range appends {
		for _, e := range sa.Events {
			total++
			if r, hit := p.existing[e.EventID]; hit {
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
		return nil, false, fmt.Errorf("%w: %d of %d", eventstore.ErrPartialDuplicate, found, total)
	}
}

// versionsSoFar returns the last version planned for stream in out.
func versionsSoFar(out []eventstore.Recorded, stream string) (int64, bool) {
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].StreamID == stream {
			return out[i].StreamVersion, true
		}
	}
	return 0, false
}
