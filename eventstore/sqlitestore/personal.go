package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// PutPersonal stores personal data items (existing refs are kept), as
// an import does; appends carry theirs in StreamAppend.Personal.
func (s *Store) PutPersonal(ctx context.Context, items []eventstore.PersonalItem) error {
	return Classify(putPersonal(ctx, s.db, items))
}

func putPersonal(ctx context.Context, db execer, items []eventstore.PersonalItem) error {
	for _, it := range items {
		_, err := db.ExecContext(ctx, `INSERT INTO personal_data (ref, salt, value, kind, actor_key_id, recorded_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref) DO NOTHING`, it.Ref, it.Salt, it.Value, it.Kind, it.ActorKeyID, timeText(it.At))
		if err != nil {
			return err
		}
	}
	return nil
}

// LookupPersonal returns the values of the refs still held.
func (s *Store) LookupPersonal(ctx context.Context, refs []string) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	for len(refs) > 0 {
		n := min(len(refs), 500)
		args := make([]any, n)
		for i := range n {
			args[i] = refs[i]
		}
		rows, err := s.db.QueryContext(ctx, `SELECT ref, value FROM personal_data WHERE ref IN (?`+strings.Repeat(",?", n-1)+`)`, args...)
		if err != nil {
			return nil, Classify(err)
		}
		for rows.Next() {
			var ref, value string
			if err := rows.Scan(&ref, &value); err != nil {
				rows.Close()
				return nil, Classify(err)
			}
			out[ref] = value
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, Classify(err)
		}
		refs = refs[n:]
	}
	return out, nil
}

// ErasePersonal deletes the personal data e selects and returns how many
// items it erased. The log is not touched.
func (s *Store) ErasePersonal(ctx context.Context, e eventstore.Erasure) (int64, error) {
	if e.Before.IsZero() && e.ActorKeyID == "" {
		return 0, errors.New("erase: name --before or --actor")
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM personal_data WHERE (?1 = '' OR recorded_at < ?1) AND (?2 = '' OR actor_key_id = ?2)`,
		timeText(e.Before), e.ActorKeyID)
	if err != nil {
		return 0, Classify(err)
	}
	return res.RowsAffected()
}

// EachPersonal streams every personal data item still held, oldest first.
func (s *Store) EachPersonal(ctx context.Context, fn func(eventstore.PersonalItem) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT ref, salt, value, kind, actor_key_id, recorded_at FROM personal_data ORDER BY recorded_at, ref`)
	if err != nil {
		return Classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			it eventstore.PersonalItem
			at string
		)
		if err := rows.Scan(&it.Ref, &it.Salt, &it.Value, &it.Kind, &it.ActorKeyID, &at); err != nil {
			return Classify(err)
		}
		t, err := time.Parse(eventstore.TimeFormat, at)
		if err != nil {
			return fmt.Errorf("personal data %s: recorded_at %q: %w", it.Ref, at, err)
		}
		it.At = t
		if err := fn(it); err != nil {
			return err
		}
	}
	return Classify(rows.Err())
}
