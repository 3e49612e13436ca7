package server_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/sessiond/sessiond/internal/server"
)

// TestConsoleOIDCConfigErrors: console sign-in settings that cannot work
// stop serve with one line naming the setting.
func TestConsoleOIDCConfigErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no way to sign in":  {[]string{"--console-key-signin=false"}, "--console-key-signin (SESSIOND_CONSOLE_KEY_SIGNIN)"},
		"client, no issuer":  {[]string{"--console-oidc-client-id", "console"}, "--admin-oidc-issuer (SESSIOND_ADMIN_OIDC_ISSUER)"},
		"secret, no client":  {[]string{"--console-oidc-client-secret", "s"}, "--console-oidc-client-id (SESSIOND_CONSOLE_OIDC_CLIENT_ID)"},
		"bad redirect":       {[]string{"--admin-oidc-issuer", "https://idp.example", "--admin-oidc-audience", "api", "--console-oidc-client-id", "console", "--console-oidc-redirect-url", "https://sessiond.example/callback"}, "--console-oidc-redirect-url (SESSIOND_CONSOLE_OIDC_REDIRECT_URL)"},
		"bad key-signin env": {[]string{}, "--console-key-signin (SESSIOND_CONSOLE_KEY_SIGNIN)"},
	} {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{"SESSIOND_DATA_DIR": t.TempDir()}
			if name == "bad key-signin env" {
				vars["SESSIOND_CONSOLE_KEY_SIGNIN"] = "perhaps"
			}
			m := server.NewMain()
			m.Stdout, m.Stderr = io.Discard, io.Discard
			m.Getenv = env(vars)
			m.Logger = slog.New(slog.DiscardHandler)
			err := m.Start(context.Background(), append([]string{"--http-addr", "127.0.0.1:0"}, tc.args...))
			if err == nil {
				m.Close()
				t.Fatal("serve started")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want one line naming %s", msg, tc.want)
			}
		})
	}
}
