package domain

import "time"

// Types of the accountability events: who was refused, who read the
// audit trail, who erased personal data.
const (
	TypeAccessDenied       = "AccessDenied"
	TypeAuditRead          = "AuditRead"
	TypePersonalDataErased = "PersonalDataErased"
)

// Streams of the accountability events. They are appended with any
// version: each event stands alone.
const (
	AccessDeniedStream = "access-denied"
	AuditReadStream    = "audit-reads"
	PersonalDataStream = "personal-data"
)

// ScopePersonalRead lets a key see raw source IPs and user agents; without
// it they are shown as Redacted.
const ScopePersonalRead Scope = "personal:read"

// Redacted replaces personal data a key may not see.
const Redacted = "[redacted]"

// AccessDenied records refused admin requests: every 401, 403 and 429
// answered to one source (a presented key that could be identified, else
// the client address) with one error code within one interval, folded
// into one event with their Count. Overflow events count the requests of
// every source beyond the per-interval cap instead.
type AccessDenied struct {
	Status int    `json:"status"` // 401, 403 or 429
	Code   string `json:"code"`   // e.g. ADMIN_SESSION_INVALID
	// KeyID, KeyName and Owner identify the presented key when it is
	// known (a valid key lacking a scope, a revoked key, a key over its
	// rate); empty for missing, malformed and unknown keys.
	KeyID   string `json:"keyId,omitempty"`
	KeyName string `json:"keyName,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// Routes are the refused requests' "METHOD route-template", Scopes the
	// scopes those routes need; each holds at most MaxDeniedSamples.
	Routes []string `json:"routes"`
	Scopes []string `json:"scopes,omitempty"`
	// RequestIDs are the first MaxDeniedSamples request ids.
	RequestIDs []string  `json:"requestIds"`
	Count      int64     `json:"count"`
	FirstAt    time.Time `json:"firstAt"`
	LastAt     time.Time `json:"lastAt"`
	// Overflow marks the event that counts the sources beyond the cap;
	// Sources is how many distinct sources it folds in (a lower bound past
	// 10,000). When those requests had different codes its Code is
	// "MIXED" and its Status 0.
	Overflow bool  `json:"overflow,omitempty"`
	Sources  int64 `json:"sources,omitempty"`
}

// MaxDeniedSamples bounds the routes, scopes and request ids one
// AccessDenied keeps.
const MaxDeniedSamples = 10

// AuditRead records that someone read the audit trail: one page of an
// audit query, an export, or a verification, through the API, the CLI or
// the web console.
type AuditRead struct {
	Operation string            `json:"operation"` // "query", "export" or "verify"
	Via       string            `json:"via"`       // "api", "cli" or "console"
	Filters   map[string]string `json:"filters,omitempty"`
	Format    string            `json:"format,omitempty"` // "json", "ndjson" or "csv"
	Rows      int64             `json:"rows"`             // events returned, exported or verified
	// Complete is false when an export was cut short; Result is a
	// verification's outcome, "ok" or "broken".
	Complete bool      `json:"complete"`
	Result   string    `json:"result,omitempty"`
	ReadAt   time.Time `json:"readAt"`
}

// PersonalDataErased records an erasure of personal data kept beside the
// log: its criteria, how many items went, and why.
type PersonalDataErased struct {
	Before     *time.Time `json:"before,omitempty"`
	ActorKeyID string     `json:"actorKeyId,omitempty"`
	Erased     int64      `json:"erased"`
	Trigger    string     `json:"trigger"` // "cli" or "retention"
	Retention  string     `json:"retention,omitempty"`
	ErasedAt   time.Time  `json:"erasedAt"`
}

// EventType implements Event.
func (AccessDenied) EventType() string { return TypeAccessDenied }

// EventType implements Event.
func (AuditRead) EventType() string { return TypeAuditRead }

// EventType implements Event.
func (PersonalDataErased) EventType() string { return TypePersonalDataErased }

// StreamID implements Event.
func (AccessDenied) StreamID() string { return AccessDeniedStream }

// StreamID implements Event.
func (AuditRead) StreamID() string { return AuditReadStream }

// StreamID implements Event.
func (PersonalDataErased) StreamID() string { return PersonalDataStream }
