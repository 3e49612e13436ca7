package projections_test

import (
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
// template, in causal order, with one array element per event.
func TestProjectTemplates(t *testing.T) {
	at := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	actor := domain.Actor{KeyID: "k1", KeyName: "ops"}
	tests := []struct {
		name   string
		events []domain.Event
		want   []string // statement prefixes, in order
		rows   []int    // array length of each statement's first argument
	}{
		{"start", []domain.Event{domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: at, ExpiresAt: at.Add(time.Hour)}},
			[]string{"INSERT INTO users", "INSERT INTO sessions"}, []int{1, 1}},
		{"start and revoke", []domain.Event{
			domain.SessionRevoked{SessionID: "s0", UserID: "u1", RevokedAt: at, RevokedBy: actor},
			domain.SessionStarted{SessionID: "s1", UserID: "u1", StartedAt: at, ExpiresAt: at.Add(time.Hour)},
			domain.SessionStarted{SessionID: "s2", UserID: "u1", StartedAt: at, ExpiresAt: at.Add(time.Hour)},
		}, []string{"INSERT INTO users", "INSERT INTO sessions", "UPDATE sessions"}, []int{2, 2, 1}},
		{"keys", []domain.Event{
			domain.AdminKeyRevoked{KeyID: "k0", RevokedAt: at},
			domain.AdminKeyCreated{KeyID: "k1", Name: "ops", Scopes: domain.AllScopes, KeyHash: strings.Repeat("a", 64), CreatedAt: at},
		}, []string{"INSERT INTO admin_keys", "UPDATE admin_keys"}, []int{1, 1}},
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
				if !strings.HasPrefix(st.SQL, tc.want[i]) {
					t.Errorf("statement %d = %.40q, want %q", i, st.SQL, tc.want[i])
				}
				if got := arrayLen(st.Args[0]); got != tc.rows[i] {
					t.Errorf("statement %d carries %d rows, want %d", i, got, tc.rows[i])
				}
			}
		})
	}
}

func arrayLen(v any) int {
	switch a := v.(type) {
	case []string:
		return len(a)
	default:
		return -1
	}
}

func TestProjectRejectsCorruptData(t *testing.T) {
	_, err := projections.Project([]eventstore.Recorded{{Position: 1, Type: domain.TypeSessionStarted, Data: []byte(`{"startedAt": 5}`)}})
	if err == nil {
		t.Fatal("Project accepted undecodable data")
	}
}
