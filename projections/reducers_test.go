package projections_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/projections"
)

func recorded(t *testing.T, pos int64, e domain.Event) eventstore.Recorded {
	t.Helper()
	typ, data, err := domain.EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.Recorded{Position: pos, StreamID: e.StreamID(), StreamVersion: 1, Type: typ, Data: data}
}

// TestProjectTemplates: a batch becomes one set-based statement per
// template, in causal order, with one array element per event carrying
// exactly the event's values.
func TestProjectTemplates(t *testing.T) {
	at := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	exp := at.Add(time.Hour)
	actor := domain.Actor{KeyID: "k1", KeyName: "ops"}
	hash := strings.Repeat("a", 64)
	type stmt struct {
		prefix string
		args   [][]any // one column per unnest() argument
	}
	tests := []struct {
		name   string
		events []domain.Event
		want   []stmt
	}{
		{"start", []domain.Event{domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: at, ExpiresAt: exp}},
			[]stmt{
				{"INSERT INTO users", [][]any{{"u1"}, {at}, {int64(1)}}},
				{"INSERT INTO sessions", [][]any{{"s1"}, {"u1"}, {at}, {exp}, {nil}, {int64(1)}, {int64(1)}}},
			}},
		{"start and revoke", []domain.Event{
			domain.SessionRevoked{SessionID: "s0", UserID: "u1", RevokedAt: at, RevokedBy: actor, Reason: "stolen"},
			domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: at, ExpiresAt: exp, Metadata: []byte(`{"a":1}`)},
			domain.SessionStarted{SessionID: "s2", UserID: "u2", StartedAt: at, ExpiresAt: exp},
		}, []stmt{
			{"INSERT INTO users", [][]any{{"u1", "u2"}, {at, at}, {int64(2), int64(3)}}},
			{"INSERT INTO sessions", [][]any{{"s1", "s2"}, {"u1", "u2"}, {at, at}, {exp, exp}, {`{"a":1}`, nil}, {int64(1), int64(1)}, {int64(2), int64(3)}}},
			{"UPDATE sessions", [][]any{{"s0"}, {at}, {"k1"}, {"ops"}, {"stolen"}, {int64(1)}, {int64(1)}}},
		}},
		{"keys", []domain.Event{
			domain.AdminKeyRevoked{KeyID: "k0", RevokedAt: at},
			domain.AdminKeyCreated{KeyID: "k1", Name: "ops", Scopes: []domain.Scope{domain.ScopeSessionsRead, domain.ScopeAuditRead}, KeyHash: hash, CreatedAt: at},
		}, []stmt{
			{"INSERT INTO admin_keys", [][]any{{"k1"}, {"ops"}, {"sessions:read,audit:read"}, {hash}, {at}}},
			{"UPDATE admin_keys", [][]any{{"k0"}, {at}}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var recs []eventstore.Recorded
			for i, e := range tc.events {
				recs = append(recs, recorded(t, int64(i+1), e))
			}
			recs = append(recs, eventstore.Recorded{Position: 99, Type: "Unrelated", Data: []byte(`{}`)})
			stmts, err := projections.Project(recs)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(stmts), len(tc.want); got != want {
				t.Fatalf("%d statements, want %d", got, want)
			}
			for i, st := range stmts {
				if !strings.HasPrefix(st.SQL, tc.want[i].prefix) {
					t.Errorf("statement %d = %.40q, want %q", i, st.SQL, tc.want[i].prefix)
				}
				var got [][]any
				for _, a := range st.Args {
					got = append(got, values(t, a))
				}
				if !reflect.DeepEqual(got, tc.want[i].args) {
					t.Errorf("statement %d (%s) args\n got %v\nwant %v", i, tc.want[i].prefix, got, tc.want[i].args)
				}
			}
		})
	}
}

// values turns one typed array argument into plain values: *string
// becomes its string or nil.
func values(t *testing.T, arg any) []any {
	t.Helper()
	var out []any
	switch a := arg.(type) {
	case []string:
		for _, v := range a {
			out = append(out, v)
		}
	case []*string:
		for _, v := range a {
			if v == nil {
				out = append(out, nil)
			} else {
				out = append(out, *v)
			}
		}
	case []time.Time:
		for _, v := range a {
			out = append(out, v)
		}
	case []int64:
		for _, v := range a {
			out = append(out, v)
		}
	default:
		t.Fatalf("unexpected argument type %T", arg)
	}
	return out
}

func TestProjectRejectsCorruptData(t *testing.T) {
	_, err := projections.Project([]eventstore.Recorded{{Position: 1, Type: domain.TypeSessionStarted, Data: []byte(`{"startedAt": 5}`)}})
	if err == nil {
		t.Fatal("Project accepted undecodable data")
	}
}
