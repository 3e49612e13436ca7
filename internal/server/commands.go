package server

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessiond/sessiond/domain"
	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/internal/app"
)

// runMigrate applies pending migrations and exits.
func (m *Main) runMigrate(ctx context.Context, args []string) error {
	if _, err := m.flags("migrate", "sessiond migrate [flags]", args, nil); err != nil {
		return err
	}
	if err := m.requireOwner(ctx); err != nil {
		return err
	}
	db, err := m.openBackend(ctx, true, eventstore.Options{Logger: m.Logger})
	if err != nil {
		return err
	}
	db.Close()
	fmt.Fprintln(m.Stdout, "migrations up to date")
	return nil
}

// withService runs fn with a migrated store and the application service.
func (m *Main) withService(ctx context.Context, fn func(*app.Service, Store) error) error {
	db, err := m.openBackend(ctx, true, eventstore.Options{Logger: m.Logger})
	if err != nil {
		return err
	}
	defer db.Close()
	// The key table (from the log) knows every key name and owner, so the
	// CLI refuses a name in use and lists owners.
	keys := app.NewKeyTable(db.store, app.KeyTableOptions{Logger: m.Logger})
	if err := keys.Sync(ctx); err != nil {
		return err
	}
	return fn(app.New(db.store, db.reads, nil, m.Logger).WithKeys(keys), db.store)
}

// cliMeta is the metadata of changes made from the command line: the
// actor is {kind: "cli", osUser, host}.
func cliMeta() app.Meta {
	return cliActorMeta("cli-" + time.Now().UTC().Format("20060102T150405.000000Z"))
}

func (m *Main) runKeys(ctx context.Context, args []string) error {
	sub, args, err := m.subcommand("keys", args)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		var name, owner, scopes string
		if _, err := m.flags("keys create", "sessiond keys create --name NAME --scopes s1,s2 [--owner TEXT] [flags]", args, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "a name for the key, unique over every key ever created (recorded as the actor of what it does)")
			fs.StringVar(&owner, "owner", "", "who holds the key: free text such as an e-mail or an employee id (recorded with everything it does)")
			fs.StringVar(&scopes, "scopes", "", "comma-separated scopes: "+scopeList())
		}); err != nil {
			return err
		}
		if strings.TrimSpace(name) == "" {
			return usageError("keys create needs --name (see sessiond keys create --help)")
		}
		parsed, err := domain.ParseScopes(scopes)
		if err != nil {
			return usageError("--scopes: %s", domain.ErrorMessage(err))
		}
		return m.withService(ctx, func(svc *app.Service, _ Store) error {
			k, secret, err := svc.CreateOwnedKey(ctx, cliMeta(), name, owner, parsed)
			if err != nil {
				return cliError(err)
			}
			fmt.Fprintf(m.Stdout, "created admin key %s (%s) with scopes %s\n", k.ID, k.Name, joinScopes(k.Scopes))
			fmt.Fprintln(m.Stdout, "store it now; it cannot be shown again:")
			fmt.Fprintln(m.Stdout, secret.String())
			return nil
		})
	case "list":
		if _, err := m.flags("keys list", "sessiond keys list [flags]", args, nil); err != nil {
			return err
		}
		return m.withService(ctx, func(svc *app.Service, _ Store) error {
			keys, err := svc.Keys(ctx)
			if err != nil {
				return cliError(err)
			}
			tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tOWNER\tSCOPES\tCREATED\tREVOKED")
			for _, k := range keys {
				revoked := "-"
				if k.RevokedAt != nil {
					revoked = k.RevokedAt.Format(time.RFC3339)
				}
				owner := k.Owner
				if owner == "" {
					owner = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, owner, joinScopes(k.Scopes), k.CreatedAt.Format(time.RFC3339), revoked)
			}
			return tw.Flush()
		})
	case "revoke":
		var id string // before or after the flags
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			id, args = args[0], args[1:]
		}
		fs, err := m.flags("keys revoke", "sessiond keys revoke ID [flags]", args, nil)
		if err != nil {
			return err
		}
		if id == "" && fs.NArg() == 1 {
			id = fs.Arg(0)
		} else if id == "" || fs.NArg() != 0 {
			return usageError("keys revoke needs exactly one key ID")
		}
		return m.withService(ctx, func(svc *app.Service, _ Store) error {
			if err := svc.RevokeKey(ctx, cliMeta(), id); err != nil {
				return cliError(err)
			}
			fmt.Fprintf(m.Stdout, "revoked admin key %s\n", id)
			return nil
		})
	}
	return nil
}

// cliError renders application errors as their message.
func cliError(err error) error {
	if domain.ErrorCode(err) == domain.CodeInternal {
		return err
	}
	return fmt.Errorf("%s: %s", domain.ErrorCode(err), domain.ErrorMessage(err))
}

func scopeList() string { return joinScopes(domain.AllScopes) }

func joinScopes(sc []domain.Scope) string {
	parts := make([]string, len(sc))
	for i, s := range sc {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}
