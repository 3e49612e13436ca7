package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/sessiond/sessiond/api"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/ssf"
)

// ssfLockKey is the advisory lock of the instance that pushes SSF streams.
const ssfLockKey int64 = 0x5e55_10d0_0000_0005

// ssfAPI joins stream management (app) and delivery (ssf) for the API.
type ssfAPI struct {
	*app.SSF
	*ssf.Transmitter
}

// JWKS publishes the transmitter's keys.
func (s ssfAPI) JWKS() []byte { return s.Keys().JWKS() }

// ssfKeys loads the SSF signing keys: --ssf-signing-keys, or the key in
// the data dir, generated on first use.
func (m *Main) ssfKeys() (*ssf.Keys, error) {
	const setting = "--ssf-signing-keys (SESSIOND_SSF_SIGNING_KEYS)"
	var keys []ssf.Key
	if m.Config.SSFSigningKeys == "" {
		k, err := ssf.EnsureKeyFile(filepath.Join(m.Config.DataDir, "ssf-signing-key.pem"))
		if err != nil {
			return nil, configError(setting, "%v", err)
		}
		keys = append(keys, k)
	}
	for p := range strings.SplitSeq(m.Config.SSFSigningKeys, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, err := ssf.LoadKeyFile(p)
		if err != nil {
			return nil, configError(setting, "%v", err)
		}
		keys = append(keys, k)
	}
	return ssf.NewKeys(keys...)
}

// startSSF starts the transmitter; the returned function stops it.
func (m *Main) startSSF(db *backend, svc *app.Service, log *slog.Logger) (ssfAPI, func(), error) {
	keys, err := m.ssfKeys()
	if err != nil {
		return ssfAPI{}, nil, err
	}
	iss := strings.TrimRight(m.Config.Issuer, "/")
	mgmt := app.NewSSF(svc, keys, func(id string) string { return iss + api.SSFPollPath + id }, m.Config.SSFVerifyMinimum)
	t := ssf.New(db.store, keys, mgmt, ssf.Elect(db.ssfElect), ssf.Options{
		Issuer: iss, SubjectIssuer: m.Config.Issuer, UserFormat: m.Config.SSFUserFormat,
		Logger: log.With("subsystem", "ssf"),
	})
	mgmt.OnChange(t.Changed)
	replaceCollector("ssf-lag", t.Collector())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.Run(ctx)
	}()
	return ssfAPI{SSF: mgmt, Transmitter: t}, func() { cancel(); <-done }, nil
}
