package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/sessiond/sessiond/migrations"
)

// serveGrant is the privilege of the serve role on one table.
type serveGrant struct {
	Table      string
	Privileges string
	Why        string
}

// serveGrants is everything the serve role may do, table by table: what
// `sessiond serve` needs, plus the keys, audit and erase-personal
// commands. Nothing here can change or remove a recorded event, and the
// role owns nothing, so it cannot disable triggers or alter tables. A new
// table gets a line here or in notGranted (TestGrantsCoverEveryTable).
var serveGrants = []serveGrant{
	{"events", "SELECT, INSERT", "append to and read the log; never UPDATE, DELETE or TRUNCATE"},
	{"checkpoints", "SELECT, INSERT, UPDATE", "consumer positions (the relay's), upserted"},
	{"users", "SELECT, INSERT", "read model, updated in the append's transaction"},
	{"sessions", "SELECT, INSERT, UPDATE", "read model; a revocation updates its row"},
	{"admin_keys", "SELECT, INSERT, UPDATE", "read model of keys (keys list); authentication never reads it"},
	{"personal_data", "SELECT, INSERT, DELETE", "IPs and user agents beside the log; DELETE for audit erase-personal"},
	{"goose_db_version", "SELECT", "readiness: are migrations pending"},
}

// notGranted lists tables the serve role gets nothing on, and why.
var notGranted = map[string]string{}

// serveFunctions are the functions the serve role calls.
// The three-argument guard is the previous version's, kept for a rolling
// upgrade.
var serveFunctions = []string{"sessiond_expect(bigint, bytea, text[], bigint[])", "sessiond_expect(bigint, text[], bigint[])"}

// grantSQL returns the statements that give role exactly serveGrants in
// schema: first everything is revoked, so running them again after an
// upgrade leaves no stale privilege behind.
func grantSQL(role, schema string) []string {
	r := pgx.Identifier{role}.Sanitize()
	s := pgx.Identifier{schema}.Sanitize()
	out := []string{
		fmt.Sprintf("REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s", s, r),
		fmt.Sprintf("REVOKE ALL ON ALL SEQUENCES IN SCHEMA %s FROM %s", s, r),
		fmt.Sprintf("REVOKE ALL ON ALL FUNCTIONS IN SCHEMA %s FROM %s", s, r),
		fmt.Sprintf("REVOKE CREATE ON SCHEMA %s FROM %s", s, r),
		fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", s, r),
	}
	for _, g := range serveGrants {
		out = append(out, fmt.Sprintf("GRANT %s ON %s.%s TO %s", g.Privileges, s, pgx.Identifier{g.Table}.Sanitize(), r))
	}
	for _, f := range serveFunctions {
		out = append(out, fmt.Sprintf("GRANT EXECUTE ON FUNCTION %s.%s TO %s", s, f, r))
	}
	return out
}

// printGrantSQL writes grantSQL as a script, with why each grant is there.
func printGrantSQL(role, schema string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- The sessiond serve role %q. Run as the owner of the tables, after sessiond migrate\n", role)
	fmt.Fprintf(&b, "-- (again after each upgrade). It appends to and reads the log, never rewrites it, and owns nothing.\n")
	for _, g := range serveGrants {
		fmt.Fprintf(&b, "--   %s: %s\n", g.Table, g.Why)
	}
	fmt.Fprintln(&b, "BEGIN;")
	for _, st := range grantSQL(role, schema) {
		fmt.Fprintf(&b, "%s;\n", st)
	}
	fmt.Fprintln(&b, "COMMIT;")
	return b.String()
}

// sqlCanMigrate tells whether the connected role may migrate: it owns the
// tables (or is a member of their owner), or there are none yet and it may
// create them.
const sqlCanMigrate = `SELECT current_user::text, coalesce(CASE
  WHEN to_regclass('events') IS NULL THEN has_schema_privilege(current_schema(), 'CREATE')
  ELSE pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass('events')), 'USAGE')
END, false)`

func canMigrate(ctx context.Context, pool *pgxpool.Pool) (user string, ok bool, err error) {
	if err := pool.QueryRow(ctx, sqlCanMigrate).Scan(&user, &ok); err != nil {
		return "", false, fmt.Errorf("database: %w", err)
	}
	return user, ok, nil
}

// migratePostgresIfOwner applies pending migrations when the connected
// role owns the tables. A role that does not (the serve role of
// `sessiond db grant`) never tries: it says so, and says whether
// migrations are pending, in which case the server stays not ready until
// `sessiond migrate` has run as the owner.
func migratePostgresIfOwner(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	user, ok, err := canMigrate(ctx, pool)
	if err != nil {
		return err
	}
	if ok {
		return migratePostgres(ctx, pool, log)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	pending, err := migrations.Pending(ctx, db)
	switch {
	case err != nil:
		log.Warn("connected as a role that does not own the tables, and the schema version cannot be read: run `sessiond migrate` as the owner", "role", user, "err", err)
	case pending:
		log.Warn("migrations pending: run `sessiond migrate` as the owner of the tables; not ready until then", "role", user)
	default:
		log.Info("connected as a role that does not own the tables: migrations are left to `sessiond migrate`", "role", user)
	}
	return nil
}

// requireOwner fails unless the configured role may migrate.
func (m *Main) requireOwner(ctx context.Context) error {
	if m.Config.embedded() {
		return nil
	}
	pool, err := openPool(ctx, m.Config.DatabaseURL, true)
	if err != nil {
		return err
	}
	defer pool.Close()
	user, ok, err := canMigrate(ctx, pool)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("sessiond migrate must run as the owner of the tables; connected as %q", user)
	}
	return nil
}
