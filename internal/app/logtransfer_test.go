package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/sqlitestore"
	"github.com/sessiond/sessiond/internal/app"
)

// appendEvents records n events on one stream of log, their data told
// apart by tag.
func appendEvents(t *testing.T, log *sqlitestore.Store, tag string, n int) {
	t.Helper()
	for i := range n {
		data := fmt.Sprintf(`{"tag":%q,"n":%d}`, tag, i)
		if _, err := log.Append(context.Background(), eventstore.StreamAppend{StreamID: "test-" + tag, ExpectedVersion: int64(i),
			Events: []eventstore.Proposed{{Type: "Test", Data: []byte(data)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// exportOf exports log, checking what ExportLog reports and tells its
// Progress.
func exportOf(t *testing.T, log *sqlitestore.Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	var total, done int64
	finished := false
	res, err := app.ExportLog(context.Background(), log, &buf, func(n int64) app.Progress {
		total = n
		return app.Progress{Set: func(n int64) { done = n }, Finish: func() { finished = true }}
	})
	head, hash, _ := log.Head(context.Background())
	if err != nil || res.Events != head || res.Last != head || !bytes.Equal(res.HeadHash, hash) {
		t.Fatalf("ExportLog = %+v, %v; the log's head is %d %x", res, err, head, hash)
	}
	if total != head || done != head || !finished {
		t.Errorf("progress told total %d, done %d, finished %v; want %d", total, done, finished, head)
	}
	if lines := strings.Count(buf.String(), "\n"); lines != int(head) {
		t.Errorf("export holds %d lines for %d events", lines, head)
	}
	return buf.Bytes()
}

// TestImportLogRules: an import appends the export verbatim, resumes
// after the part a store already holds, and refuses a store holding
// anything else.
func TestImportLogRules(t *testing.T) {
	ctx := context.Background()
	src := openLog(t)
	appendEvents(t, src, "a", 3)
	export := exportOf(t, src)
	firstTwo := export[:bytes.Index(export, []byte("\n{\"position\":3"))+1]
	srcHead, srcHash, _ := src.Head(ctx)

	importInto := func(dst *sqlitestore.Store, export []byte) (app.LogImport, error) {
		return app.ImportLog(ctx, dst, bytes.NewReader(export), nil)
	}

	dst := openLog(t)
	if res, err := importInto(dst, firstTwo); err != nil || res != (app.LogImport{Imported: 2}) {
		t.Fatalf("import of the first two = %+v, %v", res, err)
	}
	if res, err := importInto(dst, export); err != nil || res != (app.LogImport{Imported: 1, Skipped: 2}) {
		t.Fatalf("import resumed = %+v, %v; want 1 imported after 2 present", res, err)
	}
	if res, err := importInto(dst, export); err != nil || res != (app.LogImport{Skipped: 3}) {
		t.Fatalf("import again = %+v, %v; want a no-op", res, err)
	}
	if head, hash, _ := dst.Head(ctx); head != srcHead || !bytes.Equal(hash, srcHash) {
		t.Errorf("imported log's head %d %x; want the source's %d %x", head, hash, srcHead, srcHash)
	}
	if again := exportOf(t, dst); !bytes.Equal(again, export) {
		t.Errorf("the imported log exports otherwise:\n%s\nwant\n%s", again, export)
	}

	other := openLog(t)
	appendEvents(t, other, "b", 3)
	if _, err := importInto(other, export); !errors.Is(err, eventstore.ErrImportGap) {
		t.Errorf("import into a store holding other events = %v; want ErrImportGap", err)
	}
	if head, _, _ := other.Head(ctx); head != 3 {
		t.Errorf("a refused import left %d events; want the 3 that were there", head)
	}

	longer := openLog(t)
	if _, err := importInto(longer, export); err != nil {
		t.Fatal(err)
	}
	if _, err := importInto(longer, firstTwo); !errors.Is(err, eventstore.ErrImportGap) {
		t.Errorf("import of a shorter export = %v; want ErrImportGap (the store holds an event the export does not)", err)
	}
}
