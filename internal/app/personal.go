package app

import (
	"context"
	"encoding/json"

	"github.com/sessiond/sessiond/eventstore"
)

// PersonalStore keeps personal data beside the log (both stores do).
type PersonalStore interface {
	PutPersonal(ctx context.Context, items []eventstore.PersonalItem) error
	LookupPersonal(ctx context.Context, refs []string) (map[string]string, error)
	ErasePersonal(ctx context.Context, e eventstore.Erasure) (int64, error)
	EachPersonal(ctx context.Context, fn func(eventstore.PersonalItem) error) error
}

// protect replaces the request's source IP and user agent with salted
// references and returns the values as personal data items, which the
// append stores beside the log in its own transaction, so they can be
// erased later without breaking the chain.
func (s *Service) protect(meta Meta) (Meta, []eventstore.PersonalItem) {
	now := s.clock().UTC()
	var items []eventstore.PersonalItem
	for _, f := range []struct {
		kind  string
		value *string
	}{{"sourceIp", &meta.SourceIP}, {"userAgent", &meta.UserAgent}} {
		if *f.value == "" {
			continue
		}
		it := eventstore.NewPersonalItem(f.kind, *f.value, meta.Actor.ID(), now)
		items = append(items, it)
		*f.value = eventstore.PersonalPrefix + it.Ref
	}
	return meta, items
}

// Personal is an event's personal data as far as it is still held: the
// metadata field name (sourceIp, userAgent) to its value, nil once erased.
type Personal map[string]*string

// Reveal resolves the personal-data references in events' metadata, one
// lookup for all of them. The result is index-aligned with recs; an event
// without references gets nil.
func Reveal(ctx context.Context, store PersonalStore, recs []eventstore.Recorded) ([]Personal, error) {
	out := make([]Personal, len(recs))
	type field struct {
		i    int
		name string
		ref  string
	}
	var fields []field
	var refs []string
	for i := range recs {
		var m map[string]any
		if json.Unmarshal(recs[i].Metadata, &m) != nil {
			continue
		}
		for name, v := range m {
			if s, ok := v.(string); ok {
				if ref, ok := eventstore.PersonalRef(s); ok {
					fields = append(fields, field{i, name, ref})
					refs = append(refs, ref)
				}
			}
		}
	}
	if len(refs) == 0 {
		return out, nil
	}
	values, err := store.LookupPersonal(ctx, refs)
	if err != nil {
		return nil, storeError(err)
	}
	for _, f := range fields {
		if out[f.i] == nil {
			out[f.i] = Personal{}
		}
		if v, ok := values[f.ref]; ok {
			out[f.i][f.name] = &v
		} else {
			out[f.i][f.name] = nil
		}
	}
	return out, nil
}
