package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
	"github.com/sessiond/sessiond/internal/auditkey"
)

// auditRotateKey introduces a new audit signing key, endorsed by the
// current one (--audit-key-file), so checkpoints signed by either verify.
func (m *Main) auditRotateKey(ctx context.Context, args []string) error {
	var next string
	if _, err := m.flags("audit rotate-key", "sessiond audit rotate-key --new-key-file FILE [flags]", args, func(fs *flag.FlagSet) {
		fs.StringVar(&next, "new-key-file", "", "the new audit key (Ed25519 PKCS#8 PEM); generated with mode 0600 if it does not exist")
	}); err != nil {
		return err
	}
	if next == "" {
		return &ExitError{Code: 2, Err: errors.New("rotate-key needs --new-key-file")}
	}
	prev, err := auditkey.LoadFile(m.Config.auditKeyPath())
	if err != nil {
		return fmt.Errorf("--audit-key-file (the current key): %w", err)
	}
	nk, err := auditkey.EnsureFile(next)
	if err != nil {
		return fmt.Errorf("--new-key-file: %w", err)
	}
	db, err := m.openBackend(ctx, true, eventstore.Options{Logger: m.Logger})
	if err != nil {
		return err
	}
	defer db.Close()
	ev, err := app.IntroduceAuditKey(ctx, db.store, nk, prev, time.Now())
	if err != nil {
		return fmt.Errorf("rotate-key: %w", err)
	}
	fmt.Fprintf(m.Stdout, "introduced audit key %s after %s\n", ev.KeyID, ev.PreviousKeyID)
	fmt.Fprintf(m.Stdout, "now restart every instance with --audit-key-file %s, and publish the new key set to auditors\n", next)
	return nil
}
