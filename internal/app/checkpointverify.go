package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/auditkey"
)

// WitnessCopy is the checkpoints a witness outside the database holds.
type WitnessCopy struct {
	Name        string   // e.g. "nats stream AUDIT_CHECKPOINTS", "--witness-dir /x"
	Checkpoints []string // JWS, in the order witnessed
}

// Policy is how often checkpoints must appear (the serving configuration).
type Policy struct {
	Every    int64         // events between checkpoints (--checkpoint-every)
	Interval time.Duration // --checkpoint-interval; 0: no time rule
	Grace    time.Duration // how late a due checkpoint may be recorded; default 1m
}

// VerifyOptions says what VerifyAudit checks.
type VerifyOptions struct {
	From, To  int64         // positions (0: from 1, to the head)
	Anchors   auditkey.Keys // audit public keys the auditor trusts
	Legacy    auditkey.Keys // token keys, for checkpoints made before audit keys existed
	External  []string      // checkpoint JWS the auditor kept
	Witnesses []WitnessCopy
	Policy    Policy
	Now       time.Time
	// Model and Personal, when set, are checked against the log: the read
	// model rebuilt in memory, and every personal-data value against its
	// salted reference.
	Model    ModelRows
	Personal PersonalStore
	// Progress, when set, is told every few thousand events how far the
	// walk has got (the position reached, and the last it will check).
	Progress func(reached, last int64)
}

// progressEvery is how many events pass between Progress calls.
const progressEvery = 2000

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Chain          eventstore.VerifyResult
	Head           int64 // the log's head when the walk started
	Unsigned       bool  // no trusted key: signatures were not checked
	TrustedKeys    []string
	InLog          int // checkpoint events checked
	External       int
	Witnessed      map[string]int // checkpoints each witness holds (in the range)
	Covered        map[string]int // of the log's checkpoints, how many each witness holds
	ModelRows      int            // read-model rows compared (-1: not checked)
	PersonalValues int            // personal-data values checked (-1: not checked)
	Breaks         []eventstore.Break
}

// logged is what verification remembers of a checkpoint event.
type logged struct {
	pos  int64
	at   time.Time
	hash string
	cp   domain.AuditCheckpoint
}

// signedCheck is one claim "the hash at position is H", from a checkpoint.
type signedCheck struct {
	position int64
	hash     string
	what     string
}

// ringSize is how many recent positions' hashes the walk keeps; older
// ones are read again when a checkpoint signs them.
const ringSize = 1 << 14

type seen struct {
	pos  int64
	hash []byte
	rec  eventstore.Recorded // without data
}

// verification is the state of one VerifyAudit.
type verification struct {
	ctx             context.Context
	log             eventstore.LogReader
	o               VerifyOptions
	rep             AuditReport
	head, to        int64
	ring            []seen // recent positions, by position modulo ringSize
	cps             []logged
	keys            []keyCheck
	model           expectedModel // nil: not compared
	badPersonal     map[string]string
	personal        []eventstore.Break
	trusted, legacy auditkey.Keys
	checks          []signedCheck
	inLog           map[string]bool // signatures of the checkpoints in the log
}

// VerifyAudit checks the log in one pass: the hash chain (every break),
// the audit key history against the auditor's anchors, every checkpoint in
// the log (signature, link to the previous one, signed hash), every
// checkpoint the auditor or a witness kept, the checkpoint policy, and —
// when asked — the read model and the personal data.
func VerifyAudit(ctx context.Context, log eventstore.LogReader, o VerifyOptions) (AuditReport, error) {
	v := &verification{ctx: ctx, log: log, o: o, ring: make([]seen, ringSize), inLog: map[string]bool{},
		rep: AuditReport{Witnessed: map[string]int{}, Covered: map[string]int{}, ModelRows: -1, PersonalValues: -1}}
	head, _, err := log.Head(ctx)
	if err != nil {
		return v.rep, storeError(err)
	}
	v.head, v.rep.Head, v.to = head, head, o.To
	if v.to <= 0 || v.to > head {
		v.to = head
	}
	if o.Personal != nil {
		if v.badPersonal, v.rep.PersonalValues, err = checkPersonal(ctx, o.Personal); err != nil {
			return v.rep, err
		}
	}
	if o.Model != nil && o.From <= 1 && v.to == head {
		v.model = newExpectedModel() // the read model is the head's: compare only a walk to it
	}
	if v.rep.Chain, err = eventstore.WalkLog(ctx, log, o.From, v.to, v.visit); err != nil {
		return v.rep, storeError(err)
	}
	v.rep.Breaks = append(v.rep.Breaks, v.rep.Chain.Breaks...)
	if o.Progress != nil {
		o.Progress(v.to, v.to)
	}
	v.trust()
	v.checkLogged()
	v.checkKept()
	if err := compareSigned(v.checks, v.at, o.From, &v.rep); err != nil {
		return v.rep, err
	}
	if o.Policy.Every > 0 {
		if err := checkPolicy(o, v.cps, v.to, v.at, &v.rep); err != nil {
			return v.rep, err
		}
	}
	v.reportPersonal()
	if v.model != nil {
		b, n, err := v.model.diff(ctx, o.Model)
		if err != nil {
			return v.rep, storeError(err)
		}
		v.rep.ModelRows = n
		v.rep.Breaks = append(v.rep.Breaks, b...)
	}
	// In log order; problems outside the log (rows, witnesses) last.
	sort.SliceStable(v.rep.Breaks, func(i, j int) bool {
		a, b := v.rep.Breaks[i].Position, v.rep.Breaks[j].Position
		return a != 0 && (b == 0 || a < b)
	})
	return v.rep, nil
}

// visit sees every event of the walk once.
func (v *verification) visit(r *eventstore.Recorded) error {
	if v.o.Progress != nil && r.Position%progressEvery == 0 {
		v.o.Progress(r.Position, v.to)
	}
	v.ring[r.Position%ringSize] = seen{pos: r.Position, hash: r.Hash,
		rec: eventstore.Recorded{Position: r.Position, EventID: r.EventID, Type: r.Type, StreamID: r.StreamID, RecordedAt: r.RecordedAt}}
	unreadable := func(err error) {
		b := eventstore.Break{Position: r.Position, Kind: eventstore.BreakModified, From: r.Position, To: r.Position,
			Reason: fmt.Sprintf("the event at position %d cannot be read as a %s (%v): it was changed", r.Position, r.Type, err)}
		b.Locate(r)
		v.rep.Breaks = append(v.rep.Breaks, b)
	}
	switch r.Type {
	case domain.TypeAuditCheckpoint:
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			unreadable(err)
			break
		}
		v.cps = append(v.cps, logged{pos: r.Position, at: r.RecordedAt, hash: hex.EncodeToString(r.Hash), cp: e.(domain.AuditCheckpoint)})
	case domain.TypeAuditKeyIntroduced:
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			unreadable(err)
			break
		}
		v.keys = append(v.keys, keyCheck{pos: r.Position, ev: e.(domain.AuditKeyIntroduced)})
	}
	if v.model != nil {
		if err := v.model.apply(r); err != nil {
			unreadable(err)
		}
	}
	if len(v.badPersonal) > 0 {
		for ref, field := range personalRefs(r.Metadata) {
			if kind, ok := v.badPersonal[ref]; ok {
				b := eventstore.Break{Position: r.Position, Kind: eventstore.BreakPersonal, From: r.Position, To: r.Position, Table: "personal_data", Row: ref,
					Reason: fmt.Sprintf("the personal data (%s) that metadata.%s of position %d refers to no longer matches its salted reference: the value was edited", kind, field, r.Position)}
				b.Locate(r)
				v.personal = append(v.personal, b)
				delete(v.badPersonal, ref)
			}
		}
	}
	return nil
}

// at returns the event at pos (without its data) and its hash; nil if the
// log has none there.
func (v *verification) at(pos int64) (*eventstore.Recorded, []byte, error) {
	if s := v.ring[pos%ringSize]; s.pos == pos && pos > 0 {
		return &s.rec, s.hash, nil
	}
	recs, err := v.log.ReadAll(v.ctx, pos-1, 1)
	if err != nil || len(recs) == 0 || recs[0].Position != pos {
		return nil, nil, storeError(err)
	}
	return &recs[0], recs[0].Hash, nil
}

// trust works out the trusted keys: the anchors, extended along the key
// history; legacy adds the token keys for checkpoints older than it.
func (v *verification) trust() {
	var keyBreaks []eventstore.Break
	v.trusted, keyBreaks = trustKeys(v.keys, v.o.Anchors)
	v.rep.Breaks = append(v.rep.Breaks, keyBreaks...)
	toSign := len(v.cps) + len(v.keys) + len(v.o.External)
	for _, w := range v.o.Witnesses {
		toSign += len(w.Checkpoints)
	}
	v.rep.Unsigned = len(v.trusted) == 0 && len(v.o.Legacy) == 0 && toSign > 0
	v.legacy = auditkey.Keys{}
	for kid, pub := range v.trusted {
		v.legacy[kid] = pub
		v.rep.TrustedKeys = append(v.rep.TrustedKeys, kid)
	}
	for kid, pub := range v.o.Legacy {
		v.legacy[kid] = pub
	}
	sort.Strings(v.rep.TrustedKeys)
}

// reportPersonal adds the edited personal data no walked event refers to.
func (v *verification) reportPersonal() {
	v.rep.Breaks = append(v.rep.Breaks, v.personal...)
	refs := make([]string, 0, len(v.badPersonal))
	for ref := range v.badPersonal {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		v.rep.Breaks = append(v.rep.Breaks, eventstore.Break{Kind: eventstore.BreakPersonal, Table: "personal_data", Row: ref,
			Reason: fmt.Sprintf("the personal data (%s) with reference pd:%s no longer matches its salted reference: the value was edited", v.badPersonal[ref], ref)})
	}
}
