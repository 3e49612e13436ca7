package server

import (
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/internal/tokens"
)

// signingKeys loads the configured signing keys, or the data dir's
// generated key when none is configured.
func (m *Main) signingKeys() ([]tokens.Key, error) {
	if strings.TrimSpace(m.Config.SigningKeys) == "" {
		k, err := tokens.EnsureKeyFile(filepath.Join(m.Config.DataDir, "signing-key.pem"))
		if err != nil {
			return nil, configError("--data-dir (SESSIOND_DATA_DIR)", "signing key: %v", err)
		}
		return []tokens.Key{k}, nil
	}
	var keys []tokens.Key
	for _, path := range strings.Split(m.Config.SigningKeys, ",") {
		k, err := tokens.LoadKeyFile(strings.TrimSpace(path))
		if err != nil {
			return nil, configError("--signing-keys (SESSIOND_SIGNING_KEYS)", "%v", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// tokenIssuer builds the issuer of session tokens.
func (m *Main) tokenIssuer() (*tokens.Issuer, error) {
	keys, err := m.signingKeys()
	if err != nil {
		return nil, err
	}
	return tokens.NewIssuer(m.Config.Issuer, m.Config.Audience, keys)
}
