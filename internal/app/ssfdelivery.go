package app

import (
	"context"
	"fmt"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Verify requests a verification SET on a stream. Requests go to the
// stream's own log stream, so they never grow the registry.
func (s *SSF) Verify(ctx context.Context, meta Meta, id, state string) error {
	for range maxAttempts {
		r, err := s.Registry(ctx)
		if err != nil {
			return err
		}
		if _, err := r.Owned(id, meta.Actor.KeyID); err != nil {
			return err
		}
		recs, evs, err := s.svc.loadStream(ctx, domain.SSFVerifyStream(id))
		if err != nil {
			return err
		}
		var last *domain.SSFVerificationRequested
		if n := len(evs); n > 0 {
			if v, ok := evs[n-1].(domain.SSFVerificationRequested); ok {
				last = &v
			}
		}
		e, err := domain.DecideSSFVerify(r, id, state, last, s.minVerify, s.svc.clock())
		if err != nil {
			return err
		}
		sa, err := s.svc.streamAppend(meta, e.StreamID(), int64(len(recs)), *e)
		if err != nil {
			return err
		}
		_, err = s.svc.log.Append(ctx, sa)
		if conflictRetry(err) {
			continue
		}
		return storeError(err)
	}
	return fmt.Errorf("ssf stream %s: too many concurrent verification requests", id)
}

// RecordFailure records a SET a receiver refused for good; when pause is
// set the transmitter pauses the stream in the same append, with reason.
func (s *SSF) RecordFailure(ctx context.Context, f domain.SSFDeliveryFailed, pause bool, reason string) error {
	meta := Meta{Actor: TransmitterActor, RequestID: "ssf-" + f.JTI}
	for range maxAttempts {
		r, err := s.Registry(ctx)
		if err != nil {
			return err
		}
		if _, err := r.Live(f.ID); err != nil {
			return err
		}
		now := s.svc.clock()
		f.FailedAt = now.UTC()
		failure, err := s.svc.streamAppend(meta, f.StreamID(), eventstore.AnyVersion, f)
		if err != nil {
			return err
		}
		appends := []eventstore.StreamAppend{failure}
		var st *domain.SSFStreamStatusChanged
		if pause {
			if st, err = domain.DecideSSFStatus(r, f.ID, domain.SSFPaused, reason, true, now); err != nil {
				return err
			}
			if st != nil {
				sa, err := s.svc.streamAppend(meta, domain.SSFStreamsStream, r.Version(), *st)
				if err != nil {
					return err
				}
				appends = append(appends, sa)
			}
		}
		_, err = s.svc.log.Append(ctx, appends...)
		if conflictRetry(err) {
			continue
		}
		if err == nil && st != nil && s.onChange != nil {
			s.onChange()
		}
		return storeError(err)
	}
	return fmt.Errorf("ssf stream %s: too many concurrent changes", f.ID)
}
