package domain_test

import (
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
)

func TestCheckpointDue(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name        string
		head, last  int64
		lastAt, now time.Time
		every       int64
		interval    time.Duration
		want        bool
	}{
		{"nothing new", 10, 10, t0, t0.Add(time.Hour), 5, time.Minute, false},
		{"enough events", 15, 10, t0, t0, 5, time.Hour, true},
		{"too few, too soon", 14, 10, t0, t0.Add(59 * time.Second), 5, time.Minute, false},
		{"too few, interval passed", 11, 10, t0, t0.Add(time.Minute), 5, time.Minute, true},
		{"first ever", 1, 0, time.Time{}, t0, 1000, 10 * time.Minute, true},
		{"interval off", 11, 10, t0, t0.Add(24 * time.Hour), 5, 0, false},
	} {
		if got := domain.CheckpointDue(tc.head, tc.last, tc.lastAt, tc.now, tc.every, tc.interval); got != tc.want {
			t.Errorf("%s: CheckpointDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAuditCheckpointRoundTrip(t *testing.T) {
	in := domain.AuditCheckpoint{Position: 7, Hash: "ab", SignedAt: time.Unix(1, 0).UTC(), KeyID: "k", Signature: "x.y.z"}
	typ, data, err := domain.EncodeEvent(in)
	if err != nil || typ != domain.TypeAuditCheckpoint || in.StreamID() != domain.CheckpointStream {
		t.Fatal(typ, err)
	}
	out, err := domain.DecodeEvent(typ, data)
	if err != nil || out.(domain.AuditCheckpoint) != in {
		t.Errorf("round trip = %+v, %v", out, err)
	}
}
