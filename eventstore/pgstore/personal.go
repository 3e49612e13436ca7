package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiond/sessiond/eventstore"
)

// sqlPersonal stores personal data items; existing refs are kept.
const sqlPersonal = `INSERT INTO personal_data (ref, salt, value, kind, actor_key_id, recorded_at)
SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
ON CONFLICT (ref) DO NOTHING`

func personalArgs(items []eventstore.PersonalItem) []any {
	n := len(items)
	ref, salt, value, kind, actor, at := make([]string, n), make([][]byte, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i, it := range items {
		ref[i], salt[i], value[i], kind[i], actor[i], at[i] = it.Ref, it.Salt, it.Value, it.Kind, it.ActorKeyID, it.At
	}
	return []any{ref, salt, value, kind, actor, at}
}

// PutPersonal stores personal data items (existing refs are kept), as
// an import does; appends carry theirs in StreamAppend.Personal.
func (s *Store) PutPersonal(ctx context.Context, items []eventstore.PersonalItem) error {
	if len(items) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, sqlPersonal, personalArgs(items)...)
	return classify(err, nil)
}

// LookupPersonal returns the values of the refs still held.
func (s *Store) LookupPersonal(ctx context.Context, refs []string) (map[string]string, error) {
	out := make(map[string]string, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT ref, value FROM personal_data WHERE ref = ANY($1)`, refs)
	if err != nil {
		return nil, classify(err, nil)
	}
	var ref, value string
	_, err = pgx.ForEachRow(rows, []any{&ref, &value}, func() error { out[ref] = value; return nil })
	return out, classify(err, nil)
}

// ErasePersonal deletes the personal data e selects and returns how many
// items it erased. The log is not touched.
func (s *Store) ErasePersonal(ctx context.Context, e eventstore.Erasure) (int64, error) {
	if e.Before.IsZero() && e.ActorKeyID == "" {
		return 0, errors.New("erase: name --before or --actor")
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM personal_data
WHERE ($1::timestamptz IS NULL OR recorded_at < $1) AND ($2 = '' OR actor_key_id = $2)`, optionalTime(e.Before), e.ActorKeyID)
	if err != nil {
		return 0, classify(err, nil)
	}
	return tag.RowsAffected(), nil
}

// EachPersonal streams every personal data item still held, oldest first.
func (s *Store) EachPersonal(ctx context.Context, fn func(eventstore.PersonalItem) error) error {
	rows, err := s.pool.Query(ctx, `SELECT ref, salt, value, kind, actor_key_id, recorded_at FROM personal_data ORDER BY recorded_at, ref`)
	if err != nil {
		return classify(err, nil)
	}
	defer rows.Close()
	for rows.Next() {
		var it eventstore.PersonalItem
		if err := rows.Scan(&it.Ref, &it.Salt, &it.Value, &it.Kind, &it.ActorKeyID, &it.At); err != nil {
			return classify(err, nil)
		}
		it.At = it.At.UTC()
		if err := fn(it); err != nil {
			return err
		}
	}
	return classify(rows.Err(), nil)
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
