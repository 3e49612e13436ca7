package eventstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// PersonalPrefix starts a personal-data reference in event metadata.
const PersonalPrefix = "pd:"

// PersonalItem is one piece of personal data kept beside the log. The log
// holds only PersonalPrefix + Ref, where Ref is the hex SHA-256 of Salt ||
// Value: erasing the item (and so its salt) leaves nothing that links the
// reference back to the value, and the chain, which covers only the
// reference, stays intact.
type PersonalItem struct {
	Ref        string
	Salt       []byte
	Value      string
	Kind       string // e.g. "sourceIp", "userAgent"
	ActorKeyID string // the admin key whose request carried it
	At         time.Time
}

// NewPersonalItem salts and references value.
func NewPersonalItem(kind, value, actorKeyID string, at time.Time) PersonalItem {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(value))
	return PersonalItem{Ref: hex.EncodeToString(h.Sum(nil)), Salt: salt, Value: value, Kind: kind, ActorKeyID: actorKeyID, At: at}
}

// PersonalRef returns the reference in a metadata value, if it is one.
func PersonalRef(v string) (string, bool) {
	if !strings.HasPrefix(v, PersonalPrefix) {
		return "", false
	}
	return v[len(PersonalPrefix):], true
}

// Erasure selects personal data to erase: recorded before Before (if set)
// and, if ActorKeyID is set, carried by that admin key's requests.
type Erasure struct {
	Before     time.Time
	ActorKeyID string
}

// Verify reports whether Ref is the salted hash of Value.
func (p PersonalItem) Verify() bool {
	h := sha256.New()
	h.Write(p.Salt)
	h.Write([]byte(p.Value))
	return hex.EncodeToString(h.Sum(nil)) == p.Ref
}
