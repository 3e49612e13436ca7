package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
)

// KeyPrefix starts every admin key secret, so that a leaked key is easy to
// recognise (and to scan for).
const KeyPrefix = "sessiond_ak_"

// keyChars is the length of the base62 part: 32 random bytes (256 bits)
// need 43 base62 digits.
const keyChars = 43

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Secret is an admin key as handed to its owner. It never appears in logs.
type Secret string

// LogValue implements slog.LogValuer: secrets are logged as REDACTED.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String returns the secret itself, for printing it once to its owner.
func (s Secret) String() string { return string(s) }

// HashSecret returns the hex SHA-256 the store keeps instead of a secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret returns a fresh random secret: the prefix and 256 random bits
// in base62.
func newSecret() (Secret, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	n := new(big.Int).SetBytes(raw[:])
	digits := make([]byte, keyChars)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := keyChars - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		digits[i] = base62[mod.Int64()]
	}
	return Secret(KeyPrefix + string(digits)), nil
}

// wellFormed reports whether s looks like a key this service issued.
func wellFormed(s string) bool {
	rest, ok := strings.CutPrefix(s, KeyPrefix)
	if !ok || len(rest) != keyChars {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !isBase62[rest[i]] {
			return false
		}
	}
	return true
}

// isBase62 marks the bytes of base62.
var isBase62 = func() (t [256]bool) {
	for i := 0; i < len(base62); i++ {
		t[base62[i]] = true
	}
	return t
}()

// Key is an admin key without its secret.
type Key struct {
	ID        string
	Name      string
	Owner     string
	Scopes    []domain.Scope
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Principal is who stands behind an authenticated request: an admin key,
// or a person an identity provider vouched for (Person set).
type Principal struct {
	KeyID  string // empty for a person
	Name   string // the key's name, or the person's Label
	Owner  string // the key's owner (keys create --owner)
	Scopes []domain.Scope
	// Person is the OIDC identity when an access token, not a key,
	// authenticated the request.
	Person *domain.Actor
}

// Actor is the principal as recorded on events.
func (p *Principal) Actor() domain.Actor {
	if p.Person != nil {
		return *p.Person
	}
	return domain.Actor{KeyID: p.KeyID, KeyName: p.Name, Owner: p.Owner}
}

// ID identifies the principal across requests (rate limits): the key id,
// or "<iss>#<sub>" of a person.
func (p *Principal) ID() string { return p.Actor().ID() }

// Kind names the credential for messages: "admin key" or "access token".
func (p *Principal) Kind() string {
	if p.Person != nil {
		return "access token"
	}
	return "admin key"
}

// Can reports whether the principal holds scope.
func (p *Principal) Can(scope domain.Scope) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// CreateKey makes a new admin key and appends AdminKeyCreated. The secret
// is returned once; only its hash is stored.
func (s *Service) CreateKey(ctx context.Context, meta Meta, name string, scopes []domain.Scope) (Key, Secret, error) {
	return s.CreateOwnedKey(ctx, meta, name, "", scopes)
}

// CreateOwnedKey is CreateKey with an owner: free text naming who holds
// the key. A name any key of the log already has (revoked or not) is
// CONFLICT when the service has a key table (WithKeys), which is synced
// first.
func (s *Service) CreateOwnedKey(ctx context.Context, meta Meta, name, owner string, scopes []domain.Scope) (Key, Secret, error) {
	var taken map[string]string
	if s.keys != nil {
		if err := s.keys.Sync(ctx); err != nil {
			return Key{}, "", storeError(err)
		}
		taken = s.keys.snap.Load().byName
	}
	secret, err := newSecret()
	if err != nil {
		return Key{}, "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Key{}, "", err
	}
	var by *domain.Actor
	if !meta.Actor.IsZero() {
		by = &meta.Actor
	}
	ev, err := domain.DecideCreateKey(nil, domain.CreateAdminKey{KeyID: id.String(), Name: name, Scopes: scopes,
		KeyHash: HashSecret(string(secret)), By: by, Owner: owner, TakenNames: taken}, s.clock())
	if err != nil {
		return Key{}, "", err
	}
	sa, err := s.streamAppend(meta, ev.StreamID(), 0, *ev)
	if err != nil {
		return Key{}, "", err
	}
	recs, err := s.log.Append(ctx, sa)
	if err != nil {
		return Key{}, "", storeError(err)
	}
	s.applyKeys(recs)
	return Key{ID: ev.KeyID, Name: ev.Name, Owner: ev.Owner, Scopes: ev.Scopes, CreatedAt: ev.CreatedAt}, secret, nil
}

// RevokeKey revokes an admin key and appends AdminKeyRevoked. Revoking a
// revoked key is a no-op; an unknown key is KEY_NOT_FOUND.
func (s *Service) RevokeKey(ctx context.Context, meta Meta, keyID string) error {
	var by *domain.Actor
	if !meta.Actor.IsZero() {
		by = &meta.Actor
	}
	for range maxAttempts {
		_, evs, err := s.loadStream(ctx, domain.AdminKeyStream(keyID))
		if err != nil {
			return err
		}
		k, err := domain.RestoreAdminKey(evs)
		if err != nil {
			return err
		}
		ev, err := domain.DecideRevokeKey(k, keyID, by, s.clock())
		if err != nil || ev == nil {
			return err
		}
		sa, err := s.streamAppend(meta, ev.StreamID(), k.Version(), *ev)
		if err != nil {
			return err
		}
		recs, err := s.log.Append(ctx, sa)
		if conflictRetry(err) {
			continue
		}
		s.applyKeys(recs) // refused here from this moment on
		return storeError(err)
	}
	return domain.Errorf(domain.CodeConflict, "admin key %s is changing too fast; retry", keyID)
}

// Keys lists every admin key, oldest first.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	rows, err := s.reads.AdminKeys(ctx)
	if err != nil {
		return nil, storeError(err)
	}
	out := make([]Key, len(rows))
	for i, r := range rows {
		out[i] = Key{ID: r.KeyID, Name: r.Name, Scopes: r.Scopes, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt}
		if s.keys != nil {
			out[i].Owner = s.keys.Owner(r.KeyID)
		}
	}
	return out, nil
}

// WithKeys makes the service authenticate from t and apply its own key
// events to t as soon as they are durable. It returns s.
func (s *Service) WithKeys(t *KeyTable) *Service {
	s.keys = t
	return s
}

// applyKeys puts the service's own freshly recorded key events into its
// key table at once (read-your-writes).
func (s *Service) applyKeys(recs []eventstore.Recorded) {
	if s.keys != nil {
		s.keys.apply(recs, false)
	}
}

// Authenticate returns the principal of a presented bearer credential. A
// value with the sessiond_ak_ prefix is an admin key; a JWT-shaped value
// is an OIDC access token, checked by the People verifier (WithPeople);
// anything else is ADMIN_SESSION_INVALID.
//
// Keys come from the in-memory key table (never from the admin_keys read
// model). It hashes the presented value and looks up only the hash, so the
// lookup's timing says nothing about how close a guess was. A well-formed
// key the table does not know may have been created a moment ago by
// another process: the table first catches up from the log (one query
// shared by concurrent misses), so a new key works at once everywhere.
// Unknown, revoked and malformed keys are ADMIN_SESSION_INVALID; a table
// that cannot be confirmed current answers UNAVAILABLE.
func (s *Service) Authenticate(ctx context.Context, presented string) (*Principal, error) {
	arrived := time.Now()
	if !strings.HasPrefix(presented, KeyPrefix) && JWTShaped(presented) {
		if s.people == nil {
			return nil, domain.Errorf(domain.CodeAdminSessionInvalid, "access tokens are not accepted: no --admin-oidc-issuer is configured; use an admin key")
		}
		return s.people.Verify(ctx, presented)
	}
	if s.keys == nil {
		return nil, domain.Errorf(domain.CodeUnavailable, "admin keys are not loaded; retry later")
	}
	if !wellFormed(presented) {
		if strings.Count(presented, ".") == 2 {
			return nil, domain.Errorf(domain.CodeAdminSessionInvalid, "the access token is invalid: not a signed JWT (unsigned tokens are refused)")
		}
		return nil, errInvalidKey()
	}
	return s.authenticateKey(ctx, presented, arrived)
}

// authenticateKey looks a well-formed key up in the key table.
func (s *Service) authenticateKey(ctx context.Context, presented string, arrived time.Time) (*Principal, error) {
	hash := sha256.Sum256([]byte(presented))
	p, state, err := s.keys.lookup(hash)
	if err != nil {
		return nil, err
	}
	if state == keyUnknown {
		if err := s.keys.refresh(ctx, arrived); err != nil {
			return nil, storeError(err)
		}
		if p, state, err = s.keys.lookup(hash); err != nil {
			return nil, err
		}
	}
	if state != keyActive {
		return nil, errInvalidKey()
	}
	return p, nil
}

func errInvalidKey() error {
	return domain.Errorf(domain.CodeAdminSessionInvalid, "the admin key is unknown, revoked or malformed")
}
