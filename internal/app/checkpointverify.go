package app

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/tokens"
)

// ErrNoKeys means signatures could not be checked: no JWKS was given.
var ErrNoKeys = errors.New("no public keys to check checkpoint signatures with")

// OpenCheckpoint checks a checkpoint JWS against jwks and returns what it
// signs.
func OpenCheckpoint(jws string, jwks []byte) (CheckpointPayload, error) {
	var p CheckpointPayload
	if len(jwks) == 0 {
		return p, ErrNoKeys
	}
	payload, _, err := tokens.VerifyJWS(jws, jwks)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(payload, &p); err != nil || p.Type != CheckpointType {
		return p, fmt.Errorf("not a sessiond checkpoint: %s", payload)
	}
	return p, nil
}

// CheckpointReport is what VerifyCheckpoints found.
type CheckpointReport struct {
	InLog    int               // checkpoint events checked
	External int               // checkpoints given by the auditor checked
	Broken   *eventstore.Break // the first mismatch, if any
	Unsigned bool              // signatures were not checked (no keys)
}

// VerifyCheckpoints checks, up to position to (0: the head), every
// AuditCheckpoint in the log and every external checkpoint JWS: the
// signature (when jwks is given; external ones require it) and that the
// log still has the signed hash at the signed position. A superuser who
// rewrites events and recomputes the whole chain cannot re-sign, so the
// hashes no longer match a checkpoint made before the rewrite.
func VerifyCheckpoints(ctx context.Context, log AuditLog, jwks []byte, external []string, to int64) (CheckpointReport, error) {
	rep := CheckpointReport{Unsigned: len(jwks) == 0}
	hashAt := func(pos int64) ([]byte, error) {
		var h []byte
		err := log.Query(ctx, eventstore.Filter{AfterPosition: pos - 1, Limit: 1}, func(r *eventstore.Recorded) error {
			if r.Position == pos {
				h = r.Hash
			}
			return nil
		})
		return h, err
	}
	check := func(signedPos int64, signedHash, what string) error {
		if rep.Broken != nil {
			return nil
		}
		h, err := hashAt(signedPos)
		if err != nil {
			return err
		}
		switch {
		case h == nil:
			rep.Broken = &eventstore.Break{Position: signedPos, Reason: fmt.Sprintf("%s signs position %d, which is missing", what, signedPos)}
		case hex.EncodeToString(h) != signedHash:
			rep.Broken = &eventstore.Break{Position: signedPos, Reason: fmt.Sprintf(
				"%s signs hash %s for position %d but the log has %x: events up to %d were changed after it was signed", what, signedHash, signedPos, h, signedPos)}
		}
		return nil
	}
	var inLog []struct {
		pos int64
		cp  domain.AuditCheckpoint
	}
	err := log.Query(ctx, eventstore.Filter{Type: domain.TypeAuditCheckpoint}, func(r *eventstore.Recorded) error {
		if to > 0 && r.Position > to {
			return nil
		}
		e, err := domain.DecodeEvent(r.Type, r.Data)
		if err != nil {
			return err
		}
		inLog = append(inLog, struct {
			pos int64
			cp  domain.AuditCheckpoint
		}{r.Position, e.(domain.AuditCheckpoint)})
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, c := range inLog {
		what := fmt.Sprintf("the checkpoint at position %d", c.pos)
		if len(jwks) > 0 {
			p, err := OpenCheckpoint(c.cp.Signature, jwks)
			if err != nil {
				rep.Broken = &eventstore.Break{Position: c.pos, Reason: what + ": " + err.Error()}
				return rep, nil
			}
			if p.Position != c.cp.Position || p.Hash != c.cp.Hash {
				rep.Broken = &eventstore.Break{Position: c.pos, Reason: what + ": its fields differ from what its signature signs"}
				return rep, nil
			}
		}
		if err := check(c.cp.Position, c.cp.Hash, what); err != nil {
			return rep, err
		}
		rep.InLog++
	}
	for i, jws := range external {
		p, err := OpenCheckpoint(jws, jwks)
		if err != nil {
			return rep, fmt.Errorf("checkpoint %d: %w", i+1, err)
		}
		if err := check(p.Position, p.Hash, fmt.Sprintf("the checkpoint signed at %s", p.SignedAt.Format("2006-01-02T15:04:05Z"))); err != nil {
			return rep, err
		}
		rep.External++
	}
	return rep, nil
}
