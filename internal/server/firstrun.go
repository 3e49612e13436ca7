package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/internal/app"
)

// firstRunKey gives a fresh embedded installation its first admin key:
// when the store holds no key at all, it creates one with every scope and
// prints it once to stderr with a curl example. Later runs print nothing
// secret. PostgreSQL deployments create keys with `sessiond keys create`.
func (m *Main) firstRunKey(ctx context.Context, svc *app.Service, ready func(context.Context) error) error {
	if !m.Config.embedded() {
		return nil
	}
	if err := ready(ctx); err != nil { // --no-migrate on a fresh data dir
		m.Logger.Warn("no first-run admin key: the store is not ready", "err", err)
		return nil
	}
	keys, err := svc.Keys(ctx)
	if err != nil {
		return fmt.Errorf("first run: %w", err)
	}
	if len(keys) > 0 {
		return nil
	}
	k, secret, err := svc.CreateKey(ctx, app.Meta{RequestID: "first-run", UserAgent: "sessiond-first-run"}, "admin", domain.AllScopes)
	if err != nil {
		return fmt.Errorf("first run: create admin key: %w", err)
	}
	base := "http://" + m.Config.HTTPAddr
	if strings.HasPrefix(m.Config.HTTPAddr, ":") {
		base = "http://localhost" + m.Config.HTTPAddr
	}
	line := strings.Repeat("=", 72)
	fmt.Fprintf(m.Stderr, `%s
sessiond first run: created admin key %q (id %s) with every scope.
It is shown only this once. Store it now:

    %s

Try it:

    curl -s -X POST %s/auth/admin/api/users/alice/sessions \
      -H 'Authorization: Bearer %s' -d '{"ttlSeconds":3600}'

Create more keys with: sessiond keys create --name NAME --scopes ...
%s
`, line, k.Name, k.ID, secret.String(), base, secret.String(), line)
	return nil
}
