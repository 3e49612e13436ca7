package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
)

// flakyLog fails appends while down is set.
type flakyLog struct {
	app.Log
	down atomic.Bool
}

func (f *flakyLog) Append(ctx context.Context, a ...eventstore.StreamAppend) ([]eventstore.Recorded, error) {
	if f.down.Load() {
		return nil, fmt.Errorf("%w: test outage", eventstore.ErrUnavailable)
	}
	return f.Log.Append(ctx, a...)
}

// TestDenialLogBoundAndOutage: one flush appends at most sources+1
// events however many sources were refused, and counts survive a failed
// flush.
func TestDenialLogBoundAndOutage(t *testing.T) {
	_, store := newService(t)
	log := &flakyLog{Log: store}
	svc := app.New(log, nil, nil, nil)
	const sources = 5
	d := app.NewDenialLog(svc, sources)
	at := time.Now()
	for i := range 50 {
		for range 2 {
			d.Add(app.Denial{At: at, Status: 401, Code: domain.CodeAdminSessionInvalid, Route: "GET /x", Address: fmt.Sprintf("192.0.2.%d", i)})
		}
	}
	ctx := context.Background()
	log.down.Store(true)
	if err := d.Flush(ctx); err == nil {
		t.Fatal("flush during an outage succeeded")
	}
	log.down.Store(false)
	d.Add(app.Denial{At: at, Status: 403, Code: domain.CodeForbidden, KeyID: "k1", KeyName: "ops", Address: "192.0.2.1"})
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := store.ReadStream(ctx, domain.AccessDeniedStream)
	if err != nil {
		t.Fatal(err)
	}
	var total, overflow int64
	for _, r := range recs {
		var e domain.AccessDenied
		_ = json.Unmarshal(r.Data, &e)
		total += e.Count
		if e.Overflow {
			overflow += e.Count
		}
	}
	if len(recs) > sources+1 || total != 101 || overflow == 0 {
		t.Errorf("%d events (bound %d), counts sum to %d (want 101), overflow %d", len(recs), sources+1, total, overflow)
	}
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := store.ReadStream(ctx, domain.AccessDeniedStream); len(again) != len(recs) {
		t.Errorf("an empty flush appended %d events", len(again)-len(recs))
	}
}
