package apiwire

import (
	"fmt"
	"net/http"
	"time"

	"github.com/sessiond/sessiond/internal/app"
)

// StreamExport streams an audit export of src to w as an attachment in
// format (app.MediaNDJSON or app.MediaCSV), flushing after each chunk
// with a fresh write deadline, so a million events flow in flat memory.
// started reports whether the 200 went out: before it, err can still be
// answered as an error; after it, the caller can only cut the body short.
func StreamExport(w http.ResponseWriter, r *http.Request, src app.AuditSource, f app.AuditFilter, format string) (rows int, started bool, err error) {
	rc := http.NewResponseController(w)
	rows, err = app.ExportAudit(r.Context(), src, f, format, w, func() error {
		started = true
		w.Header().Set("Content-Type", format+"; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sessiond-audit.%s"`, ExportExtension(format)))
		w.WriteHeader(http.StatusOK)
		return nil
	}, func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		return rc.Flush()
	})
	return rows, started, err
}

// ExportExtension is the short name of an export format: ndjson or csv.
func ExportExtension(format string) string {
	return map[string]string{app.MediaNDJSON: "ndjson", app.MediaCSV: "csv"}[format]
}
