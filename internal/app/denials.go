package app

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// Defaults of a DenialLog.
const (
	// DefaultDenialInterval is how often refused requests are written to
	// the log.
	DefaultDenialInterval = 10 * time.Second
	// DefaultDenialSources is how many sources get an AccessDenied event
	// of their own per interval; the rest share one overflow event.
	DefaultDenialSources = 100
	// maxOverflowSources bounds the set that counts distinct overflow
	// sources (past it, Sources is a lower bound).
	maxOverflowSources = 10_000
)

// Denial is one refused admin request (401, 403 or 429).
type Denial struct {
	At        time.Time
	Status    int
	Code      domain.Code
	KeyID     string // when the presented key could be identified
	KeyName   string
	Owner     string
	Route     string // "METHOD /route/{template}"
	Scope     string // the scope the route needs
	RequestID string
	Address   string // client address (after trusted proxies)
	UserAgent string
}

type denialKey struct {
	keyID, address string
	code           domain.Code
}

type denialEntry struct {
	ev        domain.AccessDenied
	requestID string
	address   string
	userAgent string
}

// DenialLog folds refused admin requests into AccessDenied events, one per
// (presented key or client address, error code) and interval with a
// count, so that a script guessing keys cannot grow the log without
// bound: each Flush appends at most Sources+1 events, however many
// requests were refused (Sources with an event each, then one overflow
// event counting every other request). Add never blocks on the store.
type DenialLog struct {
	svc     *Service
	sources int

	mu       sync.Mutex
	entries  map[denialKey]*denialEntry
	overflow *domain.AccessDenied
	seen     map[denialKey]bool // overflow sources, bounded
}

// NewDenialLog returns a DenialLog appending through svc; sources <= 0
// means DefaultDenialSources.
func NewDenialLog(svc *Service, sources int) *DenialLog {
	if sources <= 0 {
		sources = DefaultDenialSources
	}
	return &DenialLog{svc: svc, sources: sources, entries: map[denialKey]*denialEntry{}}
}

// Add counts one refused request.
func (d *DenialLog) Add(x Denial) {
	if d == nil {
		return
	}
	k := denialKey{keyID: x.KeyID, address: x.Address, code: x.Code}
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.entries[k]
	if e == nil && len(d.entries) >= d.sources {
		d.addOverflow(k, x)
		return
	}
	if e == nil {
		e = &denialEntry{requestID: x.RequestID, address: x.Address, userAgent: x.UserAgent, ev: domain.AccessDenied{
			Status: x.Status, Code: string(x.Code), KeyID: x.KeyID, KeyName: x.KeyName, Owner: x.Owner,
			Routes: []string{}, RequestIDs: []string{}, FirstAt: x.At.UTC(),
		}}
		d.entries[k] = e
	}
	fold(&e.ev, x)
}

func (d *DenialLog) addOverflow(k denialKey, x Denial) {
	if d.overflow == nil {
		d.overflow = &domain.AccessDenied{Overflow: true, Status: x.Status, Code: string(x.Code), Routes: []string{}, RequestIDs: []string{}, FirstAt: x.At.UTC()}
		d.seen = map[denialKey]bool{}
	}
	if !d.seen[k] && len(d.seen) < maxOverflowSources {
		d.seen[k] = true
		d.overflow.Sources++
	}
	if d.overflow.Code != string(x.Code) {
		d.overflow.Code, d.overflow.Status = "MIXED", 0
	}
	fold(d.overflow, x)
}

// fold adds one request to an event: count, times and bounded samples.
func fold(ev *domain.AccessDenied, x Denial) {
	ev.Count++
	ev.LastAt = x.At.UTC()
	if x.Route != "" && !slices.Contains(ev.Routes, x.Route) && len(ev.Routes) < domain.MaxDeniedSamples {
		ev.Routes = append(ev.Routes, x.Route)
	}
	if x.Scope != "" && !slices.Contains(ev.Scopes, x.Scope) && len(ev.Scopes) < domain.MaxDeniedSamples {
		ev.Scopes = append(ev.Scopes, x.Scope)
	}
	if x.RequestID != "" && len(ev.RequestIDs) < domain.MaxDeniedSamples {
		ev.RequestIDs = append(ev.RequestIDs, x.RequestID)
	}
}

// Flush appends what was counted since the last flush, in one append: one
// AccessDenied per source (ordered by first refusal) and at most one
// overflow event. The client address and user agent go into the events'
// metadata as personal data. On failure the counts are kept for the next
// flush.
func (d *DenialLog) Flush(ctx context.Context) error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	entries, overflow := d.entries, d.overflow
	d.entries, d.overflow, d.seen = map[denialKey]*denialEntry{}, nil, nil
	d.mu.Unlock()
	if len(entries) == 0 && overflow == nil {
		return nil
	}
	list := make([]*denialEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b *denialEntry) int { return a.ev.FirstAt.Compare(b.ev.FirstAt) })
	var appends []eventstore.StreamAppend
	for _, e := range list {
		meta := Meta{RequestID: e.requestID, SourceIP: e.address, UserAgent: e.userAgent}
		if e.ev.KeyID != "" {
			meta.Actor = domain.Actor{KeyID: e.ev.KeyID, KeyName: e.ev.KeyName, Owner: e.ev.Owner}
		}
		sa, err := d.svc.streamAppend(meta, domain.AccessDeniedStream, eventstore.AnyVersion, e.ev)
		if err != nil {
			return err
		}
		appends = append(appends, sa)
	}
	if overflow != nil {
		sa, err := d.svc.streamAppend(Meta{RequestID: cmp.Or(first(overflow.RequestIDs), "overflow")}, domain.AccessDeniedStream, eventstore.AnyVersion, *overflow)
		if err != nil {
			return err
		}
		appends = append(appends, sa)
	}
	if _, err := d.svc.log.Append(ctx, appends...); err != nil {
		d.restore(entries, overflow)
		return storeError(err)
	}
	return nil
}

// restore puts counts that could not be appended back (merging with
// whatever arrived meanwhile), so a store outage loses no denial.
func (d *DenialLog) restore(entries map[denialKey]*denialEntry, overflow *domain.AccessDenied) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, e := range entries {
		if cur := d.entries[k]; cur != nil {
			cur.ev.Count += e.ev.Count
			cur.ev.FirstAt = e.ev.FirstAt
			continue
		}
		if len(d.entries) < d.sources {
			d.entries[k] = e
			continue
		}
		if overflow == nil {
			overflow = &domain.AccessDenied{Overflow: true, Status: e.ev.Status, Code: e.ev.Code, Routes: []string{}, RequestIDs: []string{}, FirstAt: e.ev.FirstAt}
		}
		overflow.Count += e.ev.Count
		overflow.Sources++
	}
	if overflow != nil {
		if d.overflow == nil {
			d.overflow, d.seen = overflow, map[denialKey]bool{}
		} else {
			d.overflow.Count += overflow.Count
			d.overflow.Sources += overflow.Sources
			d.overflow.FirstAt = overflow.FirstAt
		}
	}
}

// Run flushes every interval until ctx ends, then once more (with a
// short deadline of its own), so a graceful stop loses nothing.
func (d *DenialLog) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultDenialInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.Flush(fctx); err != nil {
				d.svc.slog.Warn("access denials not recorded at shutdown", "err", err)
			}
			return
		case <-t.C:
			if err := d.Flush(ctx); err != nil && ctx.Err() == nil {
				d.svc.slog.WarnContext(ctx, "access denials not recorded yet; kept for the next flush", "err", err)
			}
		}
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
