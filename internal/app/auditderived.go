package app

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gowebpki/jcs"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/projections"
)

// ModelRows lists the stored read model (both read models do).
type ModelRows interface {
	EachRow(ctx context.Context, t projections.ModelTable, fn func(key string, cols []*string) error) error
}

// expectedRow is a read-model row as the log says it must be. Its columns
// are packed into one string (one allocation per row), so a log of
// millions of sessions fits in memory.
type expectedRow struct {
	pos    int64 // the event that last shaped it
	packed string
	seen   bool
}

// pack encodes columns as (uvarint length+1, bytes) each; 0 is NULL.
func pack(cols ...*string) string {
	var b []byte
	for _, c := range cols {
		if c == nil {
			b = binary.AppendUvarint(b, 0)
			continue
		}
		b = binary.AppendUvarint(b, uint64(len(*c))+1)
		b = append(b, *c...)
	}
	return string(b)
}

func unpack(s string) []*string {
	var out []*string
	b := []byte(s)
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		b = b[k:]
		if n == 0 {
			out = append(out, nil)
			continue
		}
		v := string(b[:n-1])
		out = append(out, &v)
		b = b[n-1:]
	}
	return out
}

// expectedModel is the read model rebuilt in memory from the log by the
// same rules as the reducers (projections/reducers.go).
type expectedModel map[string]map[string]expectedRow

func newExpectedModel() expectedModel {
	m := expectedModel{}
	for _, t := range projections.ModelTables {
		m[t.Name] = map[string]expectedRow{}
	}
	return m
}

func text(s string) *string { return &s }

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timeText(t time.Time) *string { return text(t.UTC().Format(eventstore.TimeFormat)) }

func intText(n int64) *string { return text(strconv.FormatInt(n, 10)) }

// apply reduces one event.
func (m expectedModel) apply(r *eventstore.Recorded) error {
	switch r.Type {
	case domain.TypeSessionStarted, domain.TypeSessionRevoked, domain.TypeAdminKeyCreated, domain.TypeAdminKeyRevoked:
	default:
		return nil
	}
	ev, err := domain.DecodeEvent(r.Type, r.Data)
	if err != nil {
		return fmt.Errorf("position %d: %w", r.Position, err)
	}
	switch e := ev.(type) {
	case domain.SessionStarted:
		if _, ok := m["users"][e.UserID]; !ok {
			m["users"][e.UserID] = expectedRow{pos: r.Position, packed: pack(timeText(e.StartedAt), intText(r.Position))}
		}
		if _, ok := m["sessions"][e.SessionID]; !ok {
			m["sessions"][e.SessionID] = expectedRow{pos: r.Position, packed: pack(text(e.UserID), timeText(e.StartedAt), timeText(e.ExpiresAt),
				nullText(string(e.Metadata)), nil, nil, nil, nil, intText(r.StreamVersion), intText(r.Position))}
		}
	case domain.SessionRevoked:
		if s, ok := m["sessions"][e.SessionID]; ok {
			if c := unpack(s.packed); c[4] == nil {
				m["sessions"][e.SessionID] = expectedRow{pos: r.Position, packed: pack(c[0], c[1], c[2], c[3],
					timeText(e.RevokedAt), text(e.RevokedBy.KeyID), text(e.RevokedBy.KeyName), nullText(e.Reason), intText(r.StreamVersion), intText(r.Position))}
			}
		}
	case domain.AdminKeyCreated:
		scopes := make([]string, len(e.Scopes))
		for i, s := range e.Scopes {
			scopes[i] = string(s)
		}
		m["admin_keys"][e.KeyID] = expectedRow{pos: r.Position, packed: pack(text(e.Name), text(strings.Join(scopes, ",")), text(e.KeyHash), timeText(e.CreatedAt), nil)}
	case domain.AdminKeyRevoked:
		if k, ok := m["admin_keys"][e.KeyID]; ok {
			if c := unpack(k.packed); c[4] == nil {
				m["admin_keys"][e.KeyID] = expectedRow{pos: r.Position, packed: pack(c[0], c[1], c[2], c[3], timeText(e.RevokedAt))}
			}
		}
	}
	return nil
}

// diff compares the stored read model with m and returns a break for
// every row that differs, is missing, or has no event behind it.
func (m expectedModel) diff(ctx context.Context, rows ModelRows) ([]eventstore.Break, int, error) {
	var out []eventstore.Break
	n := 0
	for _, t := range projections.ModelTables {
		want := m[t.Name]
		err := rows.EachRow(ctx, t, func(key string, cols []*string) error {
			n++
			b := eventstore.Break{Kind: eventstore.BreakDerived, Table: t.Name, Row: key}
			w, ok := want[key]
			if !ok {
				b.Reason = fmt.Sprintf("%s row %q has no event behind it: it was inserted outside the log", t.Name, key)
				out = append(out, b)
				return nil
			}
			w.seen = true
			want[key] = w
			wcols := unpack(w.packed)
			var diffs []string
			for i, c := range t.Columns {
				if !sameValue(c, wcols[i], cols[i]) {
					diffs = append(diffs, fmt.Sprintf("%s is %s, the log says %s", c, show(cols[i]), show(wcols[i])))
				}
			}
			if len(diffs) > 0 {
				b.Position, b.From, b.To = w.pos, w.pos, w.pos
				b.Reason = fmt.Sprintf("%s row %q differs from the log (last event at position %d): %s", t.Name, key, w.pos, strings.Join(diffs, "; "))
				out = append(out, b)
			}
			return nil
		})
		if err != nil {
			return nil, n, err
		}
		for key, w := range want {
			if !w.seen {
				out = append(out, eventstore.Break{Kind: eventstore.BreakDerived, Table: t.Name, Row: key, Position: w.pos, From: w.pos, To: w.pos,
					Reason: fmt.Sprintf("%s row %q, which the log records at position %d, is missing: it was deleted outside the log", t.Name, key, w.pos)})
			}
		}
	}
	return out, n, nil
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

// sameValue compares one column: times to the microsecond (the stores
// keep microseconds), JSON canonically, the rest as text.
func sameValue(column string, want, got *string) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	if *want == *got {
		return true
	}
	if column == "metadata" {
		a, errA := jcs.Transform([]byte(*want))
		b, errB := jcs.Transform([]byte(*got))
		return errA == nil && errB == nil && string(a) == string(b)
	}
	ta, errA := time.Parse(time.RFC3339Nano, *want)
	tb, errB := time.Parse(time.RFC3339Nano, *got)
	if errA != nil || errB != nil {
		return false
	}
	d := ta.Sub(tb)
	return d < time.Microsecond && d > -time.Microsecond
}

// checkPersonal checks every personal-data value against its salted
// reference and returns the references whose values were changed.
func checkPersonal(ctx context.Context, ps PersonalStore) (map[string]string, int, error) {
	bad := map[string]string{}
	n := 0
	err := ps.EachPersonal(ctx, func(it eventstore.PersonalItem) error {
		n++
		if !it.Verify() {
			bad[it.Ref] = it.Kind
		}
		return nil
	})
	return bad, n, storeError(err)
}

// personalRefs returns the personal-data references in an event's
// metadata, by field.
func personalRefs(meta json.RawMessage) map[string]string {
	var m map[string]any
	if json.Unmarshal(meta, &m) != nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			if ref, ok := eventstore.PersonalRef(s); ok {
				out[ref] = k
			}
		}
	}
	return out
}
