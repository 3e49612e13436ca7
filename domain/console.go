package domain

import "time"

// Console event types: sign-ins to and sign-outs from the web console.
const (
	TypeConsoleSignedIn  = "ConsoleSignedIn"
	TypeConsoleSignedOut = "ConsoleSignedOut"
)

// Sign-in methods of the console. Each method that can start a console
// session has a name here, so the record says how the person proved who
// they are.
const (
	ConsoleMethodAdminKey = "admin-key"
	// ConsoleMethodOIDC: the organization's identity provider, through
	// the authorization code flow with PKCE; the actor is the person.
	ConsoleMethodOIDC = "oidc"
)

// Why a console session ended.
const (
	ConsoleEndSignedOut  = "signed-out"   // the person signed out
	ConsoleEndIdle       = "idle-timeout" // no request within the idle timeout
	ConsoleEndExpired    = "expired"      // the absolute lifetime ran out
	ConsoleEndKeyRevoked = "key-revoked"  // the admin key behind it was revoked
)

// ConsoleSignedIn records that a person signed in to the console: the
// console session's public id (never its cookie), the admin key acting
// and how they signed in.
type ConsoleSignedIn struct {
	ConsoleSessionID string    `json:"consoleSessionId"`
	Actor            Actor     `json:"actor"`
	Method           string    `json:"method"`
	Scopes           []Scope   `json:"scopes"`
	SignedInAt       time.Time `json:"signedInAt"`
}

// ConsoleSignedOut records that a console session ended, and why.
type ConsoleSignedOut struct {
	ConsoleSessionID string    `json:"consoleSessionId"`
	Actor            Actor     `json:"actor"`
	Reason           string    `json:"reason"`
	SignedOutAt      time.Time `json:"signedOutAt"`
}

// EventType implements Event.
func (ConsoleSignedIn) EventType() string { return TypeConsoleSignedIn }

// EventType implements Event.
func (ConsoleSignedOut) EventType() string { return TypeConsoleSignedOut }

// StreamID implements Event.
func (e ConsoleSignedIn) StreamID() string { return ConsoleStream(e.ConsoleSessionID) }

// StreamID implements Event.
func (e ConsoleSignedOut) StreamID() string { return ConsoleStream(e.ConsoleSessionID) }

// ConsoleStream is the stream of one console session: its sign-in at
// version 1 and its sign-out at version 2.
func ConsoleStream(id string) string { return "console-" + id }

// NewConsoleSignedIn returns the sign-in event, times normalised as every
// recorded time is.
func NewConsoleSignedIn(id string, actor Actor, method string, scopes []Scope, now time.Time) ConsoleSignedIn {
	return ConsoleSignedIn{ConsoleSessionID: id, Actor: actor, Method: method, Scopes: scopes, SignedInAt: normalize(now)}
}

// NewConsoleSignedOut returns the sign-out event.
func NewConsoleSignedOut(id string, actor Actor, reason string, now time.Time) ConsoleSignedOut {
	return ConsoleSignedOut{ConsoleSessionID: id, Actor: actor, Reason: reason, SignedOutAt: normalize(now)}
}
