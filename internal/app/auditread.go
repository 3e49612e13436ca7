package app

import (
	"strconv"
	"time"
)

// FilterMap renders audit filters as the AuditRead event records them.
func FilterMap(f AuditFilter) map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{"userId": f.UserID, "sessionId": f.SessionID, "type": f.Type, "actor": f.Actor} {
		if v != "" {
			m[k] = v
		}
	}
	if !f.From.IsZero() {
		m["from"] = f.From.UTC().Format(time.RFC3339Nano)
	}
	if !f.To.IsZero() {
		m["to"] = f.To.UTC().Format(time.RFC3339Nano)
	}
	if f.AfterPosition > 0 {
		m["afterPosition"] = strconv.FormatInt(f.AfterPosition, 10)
	}
	if f.Limit > 0 {
		m["limit"] = strconv.Itoa(f.Limit)
	}
	return m
}
