package verifier

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwksMinRefresh bounds how often an unknown kid can trigger a refetch, so
// tokens with made-up kids cannot hammer the authority.
const jwksMinRefresh = time.Second

// jwksMaxAge is how long fetched keys are trusted before a routine refetch.
const jwksMaxAge = 5 * time.Minute

// jwks fetches and caches the authority's public keys.
type jwks struct {
	url    string
	client *http.Client

	mu      sync.RWMutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time
	fetchMu sync.Mutex // one fetch at a time
}

func newJWKS(url string, client *http.Client) *jwks {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &jwks{url: url, client: client, keys: map[string]ed25519.PublicKey{}}
}

// key returns the public key with id kid, fetching the set when kid is
// unknown (at most every jwksMinRefresh) or the set is old.
func (j *jwks) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	j.mu.RLock()
	k, ok := j.keys[kid]
	age := time.Since(j.fetched)
	j.mu.RUnlock()
	if ok && age < jwksMaxAge {
		return k, nil
	}
	if age >= jwksMinRefresh {
		if err := j.refresh(ctx); err != nil && !ok {
			return nil, err
		}
	}
	j.mu.RLock()
	defer j.mu.RUnlock()
	if k, ok = j.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("unknown key id %q", kid)
}

// refresh refetches the key set.
func (j *jwks) refresh(ctx context.Context) error {
	j.fetchMu.Lock()
	defer j.fetchMu.Unlock()
	j.mu.RLock()
	recent := time.Since(j.fetched) < jwksMinRefresh
	j.mu.RUnlock()
	if recent {
		return nil // another caller just fetched
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
	if err != nil {
		return err
	}
	resp, err := j.client.Do(req)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jwks: %s answered %d", j.url, resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if pub, ok := k.Key.(ed25519.PublicKey); ok && k.KeyID != "" {
			keys[k.KeyID] = pub
		}
	}
	j.mu.Lock()
	j.keys, j.fetched = keys, time.Now()
	j.mu.Unlock()
	return nil
}
