package broadcast

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// TestRevokedMessageDecodesOnce: a revocation the immediate path has just
// appended carries its domain event, and the message is built from it
// without decoding the stored data again; one read from storage is
// decoded, to the same payload.
func TestRevokedMessageDecodesOnce(t *testing.T) {
	at := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	ev := domain.SessionRevoked{SessionID: "s-1", UserID: "alice", RevokedAt: at, ExpiresAt: at.Add(time.Hour),
		RevokedBy: domain.Actor{KeyID: "k1", KeyName: "ops"}, Reason: "stolen"}
	typ, data, err := domain.EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	stored := eventstore.Recorded{Position: 7, StreamID: ev.StreamID(), EventID: uuid.New(), Type: typ, Data: data}
	fresh := stored
	fresh.Event, fresh.Data = ev, []byte(`not json: must not be decoded`)

	want, err := revokedMessage(&stored)
	if err != nil {
		t.Fatal(err)
	}
	got, err := revokedMessage(&fresh)
	if err != nil {
		t.Fatalf("from the appended event: %v", err)
	}
	if got != want {
		t.Errorf("from the appended event: %+v\nfrom the stored data: %+v", got, want)
	}
}
