package console_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestConsoleAuditLog: a reviewer filters the audit log by actor and time,
// pages through it, and downloads the CSV, which equals the API's export
// for the same filters.
func TestConsoleAuditLog(t *testing.T) {
	srv := startServer(t)
	ops, other := srv.key("ops"), srv.key("other")
	for i := range 3 { // before the window
		srv.start(ops, "bob", fmt.Sprintf("early-%d", i))
	}
	from := time.Now().UTC()
	for i := range 55 {
		srv.start(ops, "bob", fmt.Sprintf("in-%d", i))
		if i%10 == 0 {
			srv.start(other, "carol", fmt.Sprintf("other-%d", i))
		}
	}
	to := time.Now().UTC()
	srv.start(ops, "bob", "late-1") // after the window
	filter := url.Values{"actor": {"ops"}, "from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}

	tb := newTab(t, srv)
	tb.signIn(ops)
	tb.open("/console/audit")
	tb.do(chromedp.SendKeys(chromedp.ID("f-actor"), "ops"),
		chromedp.SendKeys(chromedp.ID("f-from"), filter.Get("from")),
		chromedp.SendKeys(chromedp.ID("f-to"), filter.Get("to")))
	tb.follow("#apply")
	tb.shot("audit")
	positions := tb.positions()
	if len(positions) != 50 {
		t.Fatalf("first page shows %d events, want 50", len(positions))
	}
	tb.follow("#next-page")
	positions = append(positions, tb.positions()...)
	t.Logf("at %s: %v", tb.location(), positions)
	if last, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`document.getElementById("next-page") === null`)); err != nil || !last {
		t.Fatalf("the second page offers a next page (%v)", err)
	}

	// The API lists the same events for the same filters.
	q := url.Values{}
	for k, v := range filter {
		q[k] = v
	}
	q.Set("limit", "1000")
	st, body := srv.api("GET", "/audit/events?"+q.Encode(), ops, "")
	if st != http.StatusOK {
		t.Fatalf("API audit = %d %s", st, body)
	}
	var want []int64
	for _, line := range strings.Split(string(body), `"position":`)[1:] {
		var p int64
		fmt.Sscan(line, &p)
		want = append(want, p)
	}
	if fmt.Sprint(positions) != fmt.Sprint(want) || len(want) != 55 {
		t.Fatalf("console shows positions %v\nAPI lists %v (want 55)", positions, want)
	}

	// Download the CSV with the browser and compare it with the API's.
	dir := t.TempDir()
	bctx := chromedp.FromContext(tb.ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(tb.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: bctx, DownloadPath: dir, EventsEnabled: new(true),
	}); err != nil {
		t.Fatal(err)
	}
	progress := chromedp.BrowserEvents(tb.ctx, browser.DownloadProgress)
	tb.do(chromedp.Click(chromedp.ID("export-csv")))
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st, apiCSV := srv.api("GET", "/audit/events?"+filter.Encode(), ops, "", "Accept", "text/csv")
	if st != http.StatusOK {
		t.Fatalf("API export = %d", st)
	}
	if !bytes.Equal(got, apiCSV) {
		t.Fatalf("console CSV (%d bytes) differs from the API's (%d bytes)\nconsole:\n%.600s\nAPI:\n%.600s", len(got), len(apiCSV), got, apiCSV)
	}
	if n := bytes.Count(got, []byte("\n")); n != 56 {
		t.Fatalf("CSV has %d lines, want a header and 55 rows", n)
	}
	if v := tb.cspViolations(); len(v) > 0 {
		t.Fatalf("CSP violations: %q", v)
	}
	// The console's reads of the audit trail are in it too: the pages
	// shown and the CSV downloaded, each with the console's actor.
	waitFor(t, func() error {
		pages := srv.count(`type = 'AuditRead' AND data->>'via' = 'console' AND data->>'operation' = 'query' AND metadata->'actor'->>'keyName' = 'ops'`)
		exports := srv.count(`type = 'AuditRead' AND data->>'via' = 'console' AND data->>'operation' = 'export' AND data->>'format' = 'csv' AND (data->>'rows')::int = 55`)
		if pages < 2 || exports != 1 {
			return fmt.Errorf("%d console audit pages and %d CSV exports recorded; want 2+ and 1", pages, exports)
		}
		return nil
	})

	tb.open("/console/audit/as-of?userId=bob&at=" + url.QueryEscape(from.Format(time.RFC3339Nano)))
	if got := tb.text("#asof"); !strings.Contains(got, "early-2") || strings.Contains(got, "in-0") {
		t.Fatalf("as of the window's start, bob's sessions are %q; want the early ones only", got)
	}
	tb.shot("asof")
}

// positions reads the positions of the audit table's rows.
func (tb *tab) positions() []int64 {
	tb.t.Helper()
	ps, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]int64](
		`Array.from(document.querySelectorAll("#events tbody tr")).map(r => Number(r.dataset.position))`))
	if err != nil {
		tb.t.Fatal(err)
	}
	return ps
}
