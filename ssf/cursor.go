package ssf

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// checkpointName is a stream's checkpoint in the checkpoints table.
func checkpointName(streamID string) string { return "ssf-" + streamID }

// cursor walks the log for one stream, folding the stream's own events as
// it passes them, so each event is judged by the configuration and status
// the stream had at that point of the log.
type cursor struct {
	id   string
	st   *domain.SSFStream // as of pos
	pos  int64             // last position handled
	hold int64             // >0: held after a pause recorded at this position
}

// stateAt folds the stream's events up to position pos from the registry's
// records.
func stateAt(recs []eventstore.Recorded, id string, pos int64) (*domain.SSFStream, error) {
	var st *domain.SSFStream
	for _, rec := range recs {
		if rec.Position > pos {
			break
		}
		e, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			return nil, err
		}
		if domain.SSFStreamOf(e) != id {
			continue
		}
		if c, ok := e.(domain.SSFStreamCreated); ok {
			st = &domain.SSFStream{Config: c.Config, Status: domain.SSFEnabled, CreatedPos: rec.Position}
			continue
		}
		if st != nil {
			st.Apply(e, rec.Position)
		}
	}
	if st == nil {
		return nil, fmt.Errorf("ssf stream %s: not created by position %d", id, pos)
	}
	return st, nil
}

// openCursor positions a cursor at the stream's checkpoint; a stream never
// checkpointed starts right after its creation ("now").
func (t *Transmitter) openCursor(ctx context.Context, snap *snapshot, id string) (*cursor, error) {
	created := snap.reg.Get(id)
	if created == nil {
		return nil, domain.Errorf(domain.CodeStreamNotFound, "ssf stream %q not found", id)
	}
	pos, err := t.log.LoadCheckpoint(ctx, checkpointName(id))
	if err != nil {
		return nil, err
	}
	if pos < created.CreatedPos {
		pos = created.CreatedPos
	}
	st, err := stateAt(snap.recs, id, pos)
	if err != nil {
		return nil, err
	}
	c := &cursor{id: id, st: st, pos: pos}
	if st.Status == domain.SSFPaused {
		c.hold = st.LastStatusPos
	}
	return c, nil
}

// step handles one log event: it folds the stream's own events and
// returns the SET the event makes on this stream, if any. A pause sets
// c.hold.
func (t *Transmitter) step(c *cursor, rec eventstore.Recorded) (*item, error) {
	c.pos = rec.Position
	if c.st.Deleted {
		return nil, nil
	}
	switch rec.Type {
	case domain.TypeSessionRevoked:
		if c.st.Status == domain.SSFDisabled || !c.st.Delivers(domain.EventSessionRevoked) {
			return nil, nil
		}
		e, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			return nil, err
		}
		rev := e.(domain.SessionRevoked)
		subject, _ := json.Marshal(t.build.subjectOf(rev))
		if c.st.Excludes(subject) {
			return nil, nil
		}
		return t.build.sessionRevoked(c.st, rec, rev), nil
	}
	if !streamEvents[rec.Type] {
		return nil, nil
	}
	e, err := domain.DecodeEvent(rec.Type, rec.Data)
	if err != nil {
		return nil, err
	}
	if domain.SSFStreamOf(e) != c.id {
		return nil, nil
	}
	c.st.Apply(e, rec.Position)
	switch e := e.(type) {
	case domain.SSFStreamStatusChanged:
		if e.Status == domain.SSFPaused {
			c.hold = rec.Position
		}
		return t.build.streamUpdated(c.st, rec, e), nil
	case domain.SSFVerificationRequested:
		if c.st.Status == domain.SSFDisabled {
			return nil, nil
		}
		return t.build.verification(c.st, rec, e.State), nil
	}
	return nil, nil
}

// streamEvents are the event types that concern one SSF stream's delivery.
var streamEvents = map[string]bool{
	domain.TypeSSFStreamCreated: true, domain.TypeSSFStreamUpdated: true, domain.TypeSSFStreamStatusChanged: true,
	domain.TypeSSFStreamDeleted: true, domain.TypeSSFSubjectAdded: true, domain.TypeSSFSubjectRemoved: true,
	domain.TypeSSFVerificationRequested: true,
}

// resumable reports whether a held cursor may go on: the stream's status
// changed after the pause that holds it, and it is not paused now.
func resumable(c *cursor, snap *snapshot) bool {
	cur := snap.reg.Get(c.id)
	return cur == nil || cur.Deleted || (cur.LastStatusPos > c.hold && cur.Status != domain.SSFPaused)
}
