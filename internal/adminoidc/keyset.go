package adminoidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// errUnreachable marks a key fetch that failed because the issuer could
// not be reached or answered with an error: the caller cannot tell a good
// token from a bad one, which is UNAVAILABLE, not ADMIN_SESSION_INVALID.
var errUnreachable = errors.New("identity provider unreachable")

// errKeysExpired is returned while the issuer cannot be reached and the
// cached keys are older than their maximum age.
var errKeysExpired = errors.New("cached keys expired")

// keySet is an issuer's JWKS, cached. It implements go-oidc's KeySet:
//   - keys are fetched on first use and again every refresh interval
//     while tokens arrive, so a key the issuer withdraws stops verifying
//     within that interval;
//   - a token whose kid is not cached triggers a fetch at once (key
//     rotation); concurrent misses share one fetch;
//   - when a fetch fails, the cached keys keep verifying until they are
//     maxAge old (counted from the last successful fetch); after that
//     every token is refused as UNAVAILABLE until the issuer answers.
type keySet struct {
	uri     string
	client  *http.Client
	refresh time.Duration
	maxAge  time.Duration
	now     func() time.Time
	log     *slog.Logger

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time     // last successful fetch; zero: never
	failed  time.Time     // last failed fetch
	flight  chan struct{} // closed when the fetch under way ends
	lastErr error
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, fetched := k.cached()
	now := k.now()
	switch {
	case !has(keys, kid) || now.Sub(fetched) >= k.maxAge:
		// A new key (rotation), or keys too old to trust: fetch now.
		err := k.fetch(ctx, now)
		keys, fetched = k.cached()
		switch {
		case err == nil:
		case fetched.IsZero() || now.Sub(fetched) >= k.maxAge:
			return nil, noteOutage(ctx, fmt.Errorf("%w: %w (keys last fetched %s)", errKeysExpired, err, age(fetched, now)))
		case !has(keys, kid):
			return nil, noteOutage(ctx, err)
		}
	case now.Sub(fetched) >= k.refresh:
		// Due for a refresh: verify with the cached keys meanwhile.
		k.refreshSoon(ctx, now)
	}
	for i := range keys {
		if kid == "" || keys[i].KeyID == kid {
			if payload, err := jws.Verify(&keys[i]); err == nil {
				return payload, nil
			}
		}
	}
	return nil, errors.New("no key of the issuer verifies the signature")
}

func age(fetched, now time.Time) string {
	if fetched.IsZero() {
		return "never"
	}
	return now.Sub(fetched).Round(time.Second).String() + " ago"
}

func has(keys []jose.JSONWebKey, kid string) bool {
	if kid == "" {
		return len(keys) > 0
	}
	for _, k := range keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

func (k *keySet) cached() ([]jose.JSONWebKey, time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.fetched
}

// refreshSoon starts a background fetch unless one is under way or the
// last one failed moments ago.
func (k *keySet) refreshSoon(ctx context.Context, now time.Time) {
	k.mu.Lock()
	busy := k.flight != nil || k.lastErr != nil && now.Sub(k.failed) < retryAfter
	k.mu.Unlock()
	if !busy {
		go func() { _ = k.fetch(context.WithoutCancel(ctx), now) }()
	}
}

// fetch reads the JWKS once, or waits for the fetch already under way.
// Within retryAfter of a failed fetch it returns that failure at once, so
// an outage does not make every request wait for a timeout.
func (k *keySet) fetch(ctx context.Context, now time.Time) error {
	k.mu.Lock()
	if k.lastErr != nil && now.Sub(k.failed) < retryAfter {
		err := k.lastErr
		k.mu.Unlock()
		return err
	}
	if k.flight != nil {
		ch := k.flight
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errUnreachable, ctx.Err())
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.lastErr
	}
	ch := make(chan struct{})
	k.flight = ch
	k.mu.Unlock()

	keys, err := k.get(ctx)

	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		k.keys, k.fetched = keys, k.now()
	} else {
		k.failed = k.now()
		k.log.Warn("identity provider keys could not be fetched; cached keys verify until they are too old",
			"err", err, "lastFetched", k.fetched, "maxAge", k.maxAge)
	}
	k.lastErr, k.flight = err, nil
	close(ch)
	return err
}

// get fetches and parses the JWKS. Keys for other uses (enc) and keys of
// algorithms sessiond refuses are dropped.
func (k *keySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	// The fetch is not cut short by the request that happened to trigger
	// it: other requests wait for it too.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: get %s: %w", errUnreachable, k.uri, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKS))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", errUnreachable, k.uri, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: get %s: %s", errUnreachable, k.uri, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JWKS: %w", errUnreachable, k.uri, err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.Use != "" && key.Use != "sig" || !key.IsPublic() || !key.Valid() {
			continue
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// Limits of a JWKS fetch.
const (
	fetchTimeout = 10 * time.Second
	retryAfter   = 5 * time.Second // after a failed fetch
	maxJWKS      = 1 << 20
)

// outageKey holds, in a verification's context, where the key set notes
// that the issuer could not be reached: go-oidc flattens the key set's
// error to text, and the caller must tell UNAVAILABLE from invalid.
type outageKey struct{}

func noteOutage(ctx context.Context, err error) error {
	if slot, ok := ctx.Value(outageKey{}).(*error); ok && (errors.Is(err, errUnreachable) || errors.Is(err, errKeysExpired)) {
		*slot = err
	}
	return err
}
