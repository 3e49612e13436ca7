package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/migrations"
)

// runDB runs `sessiond db grant`: give a PostgreSQL role exactly what
// serve needs (serveGrants), as the owner of the tables.
func (m *Main) runDB(ctx context.Context, args []string) error {
	if _, _, err := m.subcommand("db", args); err != nil {
		return err
	}
	var (
		role, schema, passwordFile string
		create, printOnly          bool
	)
	if _, err := m.flags("db grant", "sessiond db grant --role NAME [--create] [--password-file FILE] [--schema S] [--print] [flags]", args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&role, "role", "", "the role serve connects as (required)")
		fs.StringVar(&schema, "schema", "public", "the schema holding sessiond's tables")
		fs.BoolVar(&create, "create", false, "create the role (LOGIN) if it does not exist")
		fs.StringVar(&passwordFile, "password-file", "", "set the role's password to this file's first line")
		fs.BoolVar(&printOnly, "print", false, "print the SQL instead of running it (no connection needed)")
	}); err != nil {
		return err
	}
	if role == "" {
		return &ExitError{Code: 2, Err: errors.New("db grant: --role is required")}
	}
	if printOnly {
		fmt.Fprint(m.Stdout, printGrantSQL(role, schema))
		return nil
	}
	if m.Config.embedded() {
		return configError("--database-url (DATABASE_URL)", "database roles are for PostgreSQL; the embedded store has none")
	}
	var password string
	if passwordFile != "" {
		raw, err := os.ReadFile(passwordFile)
		if err != nil {
			return configError("--password-file", "%v", err)
		}
		password, _, _ = strings.Cut(string(raw), "\n")
		if password = strings.TrimRight(password, "\r"); password == "" {
			return configError("--password-file", "%s holds no password", passwordFile)
		}
	}
	pool, err := openPool(ctx, m.Config.DatabaseURL, true)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := checkGrantable(ctx, pool, schema); err != nil {
		return err
	}
	if err := ensureRole(ctx, pool, role, create, password); err != nil {
		return err
	}
	if err := safeServeRole(ctx, pool, role, schema); err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, st := range grantSQL(role, schema) {
			if _, err := tx.Exec(ctx, st); err != nil {
				return fmt.Errorf("%s: %w", st, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("db grant: %w", err)
	}
	fmt.Fprintf(m.Stdout, "role %q may now serve from schema %q: it appends to and reads the log, never rewrites it, and owns nothing\n", role, schema)
	return nil
}

// checkGrantable requires the connected role to own the tables and every
// migration to be applied, so every table to grant on exists.
func checkGrantable(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	user, ok, err := canMigrate(ctx, pool)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("db grant must run as the owner of the tables; connected as %q", user)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass(format('%I.events', $1::text)) IS NOT NULL`, schema).Scan(&exists); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	pending, err := migrations.Pending(ctx, db)
	if !exists || err != nil || pending {
		return fmt.Errorf("schema %q is not migrated: run sessiond migrate (as the owner) first", schema)
	}
	return nil
}

// ensureRole creates role when asked to and sets its password if given.
func ensureRole(ctx context.Context, pool *pgxpool.Pool, role string, create bool, password string) error {
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	var format string
	switch {
	case !exists && !create:
		return fmt.Errorf("role %q does not exist (--create creates it)", role)
	case !exists && password != "":
		format = `CREATE ROLE %I LOGIN PASSWORD %L`
	case !exists:
		format = `CREATE ROLE %I LOGIN`
	case password != "":
		format = `ALTER ROLE %I PASSWORD %L`
	default:
		return nil
	}
	// The server quotes: format's %I and %L.
	var stmt string
	if err := pool.QueryRow(ctx, `SELECT format($1::text, $2::text, $3::text)`, format, role, password).Scan(&stmt); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if _, err := pool.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("create role %q (the connected role needs CREATEROLE; or create it yourself): %w", role, err)
	}
	return nil
}

// safeServeRole refuses a role that could rewrite the log whatever it is
// granted: a superuser, or a member of the tables' owner.
func safeServeRole(ctx context.Context, pool *pgxpool.Pool, role, schema string) error {
	var super, owner bool
	err := pool.QueryRow(ctx, `SELECT r.rolsuper, pg_has_role(r.oid, c.relowner, 'MEMBER')
FROM pg_roles r, pg_class c WHERE r.rolname = $1 AND c.oid = to_regclass(format('%I.events', $2::text))`, role, schema).Scan(&super, &owner)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("role %q is a superuser: it could rewrite the log whatever it is granted; use a plain role", role)
	case owner:
		return fmt.Errorf("role %q owns the tables (or is a member of their owner): it could disable the log's triggers; use a separate role", role)
	}
	return nil
}
