package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sessiond/sessiond/eventstore"
)

// testPersonal: personal data is kept beside the log, found by reference,
// and erased by time or by actor without touching the chain.
func testPersonal(t *testing.T, h Harness) {
	t0 := time.Date(2026, 3, 1, 14, 3, 0, 0, time.UTC)
	ip := eventstore.NewPersonalItem("sourceIp", "203.0.113.7", "k1", t0)
	ua := eventstore.NewPersonalItem("userAgent", "Mozilla/5.0 (alice's laptop)", "k1", t0)
	later := eventstore.NewPersonalItem("sourceIp", "198.51.100.2", "k2", t0.Add(time.Hour))
	if ip.Ref == eventstore.NewPersonalItem("sourceIp", "203.0.113.7", "k1", t0).Ref {
		t.Error("the same value got the same reference twice: references must be salted")
	}
	if err := h.Store.PutPersonal(ctx(t), []eventstore.PersonalItem{ip, ua, later}); err != nil {
		t.Fatal(err)
	}
	meta, _ := json.Marshal(map[string]string{"sourceIp": eventstore.PersonalPrefix + ip.Ref, "userAgent": eventstore.PersonalPrefix + ua.Ref})
	mustAppend(t, h.Store, eventstore.StreamAppend{StreamID: "pd", ExpectedVersion: 0,
		Events: []eventstore.Proposed{{Type: "T", Data: []byte(`{}`), Metadata: meta}}})

	lookup := func() map[string]string {
		got, err := h.Store.LookupPersonal(ctx(t), []string{ip.Ref, ua.Ref, later.Ref, "unknown"})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := lookup(); len(got) != 3 || got[ua.Ref] != ua.Value || got[later.Ref] != later.Value {
		t.Fatalf("lookup = %v", got)
	}
	var all []eventstore.PersonalItem
	if err := h.Store.EachPersonal(ctx(t), func(it eventstore.PersonalItem) error { all = append(all, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || !all[0].At.Equal(t0) || !all[2].At.Equal(later.At) || all[2].Value != later.Value || !all[2].Verify() || all[2].ActorKeyID != "k2" {
		t.Errorf("EachPersonal = %+v", all)
	}
	if _, err := h.Store.ErasePersonal(ctx(t), eventstore.Erasure{}); err == nil {
		t.Error("an erasure selecting everything by default was accepted")
	}
	if n, err := h.Store.ErasePersonal(ctx(t), eventstore.Erasure{ActorKeyID: "k2"}); err != nil || n != 1 {
		t.Errorf("erase k2 = %d, %v", n, err)
	}
	if got := lookup(); len(got) != 2 || got[later.Ref] != "" {
		t.Errorf("after erasing k2: %v", got)
	}
	if n, err := h.Store.ErasePersonal(ctx(t), eventstore.Erasure{Before: t0.Add(time.Minute)}); err != nil || n != 2 {
		t.Errorf("erase before t0+1m = %d, %v", n, err)
	}
	if got := lookup(); len(got) != 0 {
		t.Errorf("after erasing everything: %v", got)
	}
	if res := mustVerify(t, h.Store); res.Broken != nil || res.Checked != 1 {
		t.Errorf("verify after erasure = %+v", res)
	}
}

// testPersonalWithAppend: personal data carried by an append is stored in
// its transaction; a refused append stores none.
func testPersonalWithAppend(t *testing.T, h Harness) {
	at := time.Now()
	kept := eventstore.NewPersonalItem("sourceIp", "192.0.2.10", "k1", at)
	refused := eventstore.NewPersonalItem("sourceIp", "192.0.2.11", "k1", at)
	sa := one("pd-append", 0, ev("T", nil))
	sa.Personal = []eventstore.PersonalItem{kept}
	mustAppend(t, h.Store, sa)
	clash := one("pd-append", 0, ev("T", nil)) // version 0 is taken
	clash.Personal = []eventstore.PersonalItem{refused}
	if _, err := h.Store.Append(ctx(t), clash); err == nil {
		t.Fatal("a conflicting append succeeded")
	}
	got, err := h.Store.LookupPersonal(ctx(t), []string{kept.Ref, refused.Ref})
	if err != nil || got[kept.Ref] != kept.Value || len(got) != 1 {
		t.Errorf("personal data after an append and a refused one = %v, %v; want only the first", got, err)
	}
}
