package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Sealer encrypts a push stream's authorization header before it is
// recorded, so the log never holds the receiver's credential in clear.
type Sealer interface {
	Seal(plain string) (string, error)
}

// TransmitterActor is the actor of events the SSF transmitter records on
// its own (a stream it pauses, a SET a receiver refused).
var TransmitterActor = domain.Actor{KeyID: "ssf-transmitter", KeyName: "sessiond-ssf-transmitter"}

// SSF manages Shared Signals streams: every change is an event of the
// ssf-streams log stream, so who configured which receiver is audited.
type SSF struct {
	svc       *Service
	sealer    Sealer
	pollURL   func(streamID string) string
	minVerify time.Duration
	onChange  func()
}

// OnChange sets a function called after each recorded change (the
// transmitter reloads its registry at once).
func (s *SSF) OnChange(fn func()) { s.onChange = fn }

// NewSSF returns the SSF stream service. pollURL makes a poll stream's
// endpoint_url; minVerify is the min_verification_interval.
func NewSSF(svc *Service, sealer Sealer, pollURL func(string) string, minVerify time.Duration) *SSF {
	return &SSF{svc: svc, sealer: sealer, pollURL: pollURL, minVerify: minVerify}
}

// MinVerificationInterval is the shortest time between verification
// requests of one stream.
func (s *SSF) MinVerificationInterval() time.Duration { return s.minVerify }

// Registry rebuilds every stream from the log.
func (s *SSF) Registry(ctx context.Context) (*domain.SSFRegistry, error) {
	recs, err := s.svc.log.ReadStream(ctx, domain.SSFStreamsStream)
	if err != nil {
		return nil, storeError(err)
	}
	return FoldSSF(recs)
}

// FoldSSF folds ssf-streams events into a registry.
func FoldSSF(recs []eventstore.Recorded) (*domain.SSFRegistry, error) {
	r := domain.NewSSFRegistry()
	for _, rec := range recs {
		e, err := domain.DecodeEvent(rec.Type, rec.Data)
		if err != nil {
			return nil, err
		}
		if err := r.Apply(e, rec.Position, rec.StreamVersion); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Get returns one live stream of the admin key keyID.
func (s *SSF) Get(ctx context.Context, keyID, id string) (domain.SSFStream, error) {
	r, err := s.Registry(ctx)
	if err != nil {
		return domain.SSFStream{}, err
	}
	st, err := r.Owned(id, keyID)
	if err != nil {
		return domain.SSFStream{}, err
	}
	return *st, nil
}

// List returns every live stream of the admin key keyID.
func (s *SSF) List(ctx context.Context, keyID string) ([]domain.SSFStream, error) {
	r, err := s.Registry(ctx)
	if err != nil {
		return nil, err
	}
	out := []domain.SSFStream{}
	for _, st := range r.Streams() {
		if st.Config.Owner == "" || st.Config.Owner == keyID {
			out = append(out, *st)
		}
	}
	return out, nil
}

// Create records a new stream. The id is generated; an empty audience
// defaults to the push endpoint's origin, or a URN naming the stream for
// poll. The authorization header is sealed.
func (s *SSF) Create(ctx context.Context, meta Meta, cfg domain.SSFStreamConfig) (domain.SSFStream, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return domain.SSFStream{}, err
	}
	cfg.StreamID = strings.ReplaceAll(id.String(), "-", "")
	if cfg.Delivery.Method == "" {
		cfg.Delivery.Method = domain.DeliveryPoll // SSF: no delivery means poll
	}
	if cfg.Delivery.Method == domain.DeliveryPoll {
		cfg.Delivery.EndpointURL = s.pollURL(cfg.StreamID)
	}
	if len(cfg.Audience) == 0 {
		cfg.Audience = []string{defaultAudience(cfg)}
	}
	cfg.Owner = meta.Actor.KeyID
	if err := s.seal(&cfg.Delivery); err != nil {
		return domain.SSFStream{}, err
	}
	return s.change(ctx, meta, "", func(r *domain.SSFRegistry, now time.Time) (domain.Event, error) {
		e, err := domain.DecideSSFCreate(r, cfg, now)
		if e == nil {
			return nil, err
		}
		return *e, err
	}, cfg.StreamID)
}

// Update records a stream's new whole configuration (a PATCH already
// merged, or a PUT). sealAuth says Delivery.AuthorizationHeader is new
// plain text to seal; otherwise it is the stored sealed value.
func (s *SSF) Update(ctx context.Context, meta Meta, cfg domain.SSFStreamConfig, replace, sealAuth bool) (domain.SSFStream, error) {
	if sealAuth {
		if err := s.seal(&cfg.Delivery); err != nil {
			return domain.SSFStream{}, err
		}
	}
	return s.change(ctx, meta, cfg.StreamID, func(r *domain.SSFRegistry, now time.Time) (domain.Event, error) {
		e, err := domain.DecideSSFUpdate(r, cfg, replace, now)
		if e == nil {
			return nil, err
		}
		return *e, err
	})
}

// SetStatus records a status change (none if the status is unchanged).
func (s *SSF) SetStatus(ctx context.Context, meta Meta, id, status, reason string) (domain.SSFStream, error) {
	byTransmitter := meta.Actor == TransmitterActor
	return s.change(ctx, meta, id, func(r *domain.SSFRegistry, now time.Time) (domain.Event, error) {
		e, err := domain.DecideSSFStatus(r, id, status, reason, byTransmitter, now)
		if e == nil {
			return nil, err
		}
		return *e, err
	})
}

// Delete records that a stream delivers nothing more.
func (s *SSF) Delete(ctx context.Context, meta Meta, id string) error {
	_, err := s.change(ctx, meta, id, func(r *domain.SSFRegistry, now time.Time) (domain.Event, error) {
		e, err := domain.DecideSSFDelete(r, id, now)
		if e == nil {
			return nil, err
		}
		return *e, err
	})
	return err
}

// Subject adds (add true) or removes a subject of a stream.
func (s *SSF) Subject(ctx context.Context, meta Meta, id string, subject json.RawMessage, add bool, verified *bool) error {
	_, err := s.change(ctx, meta, id, func(r *domain.SSFRegistry, now time.Time) (domain.Event, error) {
		return domain.DecideSSFSubject(r, id, subject, add, verified, now)
	})
	return err
}

// change loads the registry, checks that the acting key owns stream id
// (unless the transmitter acts, or id is "" for a creation), decides and
// appends at the registry's version, retrying after a concurrent change.
// A nil event appends nothing. The stream answered is id, or created.
func (s *SSF) change(ctx context.Context, meta Meta, id string, decide func(*domain.SSFRegistry, time.Time) (domain.Event, error), created ...string) (domain.SSFStream, error) {
	return s.changeAll(ctx, meta, id, func(r *domain.SSFRegistry, now time.Time) ([]domain.Event, error) {
		e, err := decide(r, now)
		if e == nil {
			return nil, err
		}
		return []domain.Event{e}, err
	}, created...)
}

// changeAll is change for decisions of several events, appended at once.
func (s *SSF) changeAll(ctx context.Context, meta Meta, id string, decide func(*domain.SSFRegistry, time.Time) ([]domain.Event, error), created ...string) (domain.SSFStream, error) {
	for range maxAttempts {
		r, err := s.Registry(ctx)
		if err != nil {
			return domain.SSFStream{}, err
		}
		if id != "" && meta.Actor != TransmitterActor {
			if _, err := r.Owned(id, meta.Actor.KeyID); err != nil {
				return domain.SSFStream{}, err
			}
		}
		evs, err := decide(r, s.svc.clock())
		if err != nil {
			return domain.SSFStream{}, err
		}
		if len(evs) > 0 {
			sa, err := s.svc.streamAppend(meta, domain.SSFStreamsStream, r.Version(), evs...)
			if err != nil {
				return domain.SSFStream{}, err
			}
			recs, err := s.svc.log.Append(ctx, sa)
			if conflictRetry(err) {
				continue
			}
			if err != nil {
				return domain.SSFStream{}, storeError(err)
			}
			for i, e := range evs {
				if err := r.Apply(e, recs[i].Position, recs[i].StreamVersion); err != nil {
					return domain.SSFStream{}, err
				}
			}
			if s.onChange != nil {
				s.onChange()
			}
		}
		if len(created) > 0 {
			id = created[0]
		}
		if st := r.Get(id); st != nil {
			return *st, nil
		}
		return domain.SSFStream{}, nil
	}
	return domain.SSFStream{}, fmt.Errorf("ssf stream %s: too many concurrent changes", id)
}

func (s *SSF) seal(d *domain.SSFDelivery) error {
	if d.AuthorizationHeader == "" {
		return nil
	}
	if len(d.AuthorizationHeader) > 4096 {
		return domain.Errorf(domain.CodeValidation, "delivery.authorization_header is longer than 4096 bytes")
	}
	sealed, err := s.sealer.Seal(d.AuthorizationHeader)
	if err != nil {
		return fmt.Errorf("seal authorization header: %w", err)
	}
	d.AuthorizationHeader = sealed
	return nil
}

func defaultAudience(cfg domain.SSFStreamConfig) string {
	if cfg.Delivery.Method == domain.DeliveryPush {
		if u, err := url.Parse(cfg.Delivery.EndpointURL); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	return "urn:sessiond:ssf:stream:" + cfg.StreamID
}
