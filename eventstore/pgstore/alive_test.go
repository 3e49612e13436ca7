package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiond/sessiond/eventstore"
	"github.com/sessiond/sessiond/eventstore/pgstore"
	"github.com/sessiond/sessiond/internal/netfault"
	"github.com/sessiond/sessiond/internal/waitfor"
	"github.com/sessiond/sessiond/projections"
)

// TestAppendOnClosedConnections: when the other end has closed the
// connections the pool holds (a database restart, a middlebox), an
// append notices before it writes. With the database reachable it
// succeeds on a fresh connection; with it gone it reports ErrUnavailable
// (nothing was sent), never ErrOutcomeUnknown. Appends are a command's
// first contact with the database when it decides from its cache.
func TestAppendOnClosedConnections(t *testing.T) {
	direct, proxy, store := proxiedStore(t)
	ctx := context.Background()
	appendOne := func(stream string) error {
		_, err := store.Append(ctx, eventstore.StreamAppend{StreamID: stream,
			Events: []eventstore.Proposed{{Type: "T", Data: json.RawMessage(`{}`)}}})
		return err
	}
	proxiedGone := func() {
		t.Helper()
		waitfor.Cond(t, 10*time.Second, func() error {
			var n int
			if err := direct.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'proxied'`).Scan(&n); err != nil || n > 0 {
				return fmt.Errorf("%d proxied backends left (%v)", n, err)
			}
			return nil
		})
	}
	if err := appendOne("s-1"); err != nil {
		t.Fatal(err)
	}
	proxy.Reset() // both ends of every connection closed; new ones served
	proxiedGone()
	if err := appendOne("s-2"); err != nil {
		t.Fatalf("append after the connections were closed = %v, want success on a fresh connection", err)
	}
	proxy.Close() // closed, and no new connection gets through
	proxiedGone()
	err := appendOne("s-3")
	if !errors.Is(err, eventstore.ErrUnavailable) || errors.Is(err, eventstore.ErrOutcomeUnknown) {
		t.Fatalf("append with the database unreachable = %v, want ErrUnavailable (nothing was sent)", err)
	}
	var n int
	if err := direct.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d events recorded, want 2 (%v)", n, err)
	}
}

// proxiedStore is a store whose connections go through a netfault proxy
// (application_name "proxied"), and a direct pool on the same database.
func proxiedStore(t *testing.T) (*pgxpool.Pool, *netfault.Proxy, *pgstore.Store) {
	direct, _, _ := mustOpenStore(t) // migrated
	proxy, err := netfault.Start(direct.Config().ConnConfig.Host + fmt.Sprintf(":%d", direct.Config().ConnConfig.Port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u, err := url.Parse(direct.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = proxy.Addr()
	q := u.Query()
	q.Set("application_name", "proxied")
	u.RawQuery = q.Encode()
	pool, err := pgxpool.New(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := pgstore.New(pool, pgstore.Options{Projector: projections.Project, Queries: projections.Queries})
	t.Cleanup(func() { store.Close() })
	return direct, proxy, store
}

// TestAppendKeepsConnections: the look before writing never takes a
// healthy connection for a closed one, in plain TCP or in TLS (where
// stray records could sit in the socket): a hundred appends, one at a
// time, open no more connections than the pool holds.
func TestAppendKeepsConnections(t *testing.T) {
	direct, _, _ := mustOpenStore(t) // migrated
	for _, mode := range []string{"disable", "require"} {
		t.Run(mode, func(t *testing.T) {
			cfg, err := pgxpool.ParseConfig(direct.Config().ConnString())
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(cfg.ConnString())
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("sslmode", mode)
			u.RawQuery = q.Encode()
			pool, err := pgxpool.New(context.Background(), u.String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			if err := pool.Ping(context.Background()); err != nil {
				t.Skipf("sslmode=%s: %v", mode, err) // a server without TLS
			}
			store := pgstore.New(pool, pgstore.Options{Projector: projections.Project, Queries: projections.Queries})
			t.Cleanup(func() { store.Close() })
			for i := range 100 {
				if _, err := store.Append(context.Background(), eventstore.StreamAppend{StreamID: fmt.Sprintf("%s-%d", mode, i),
					Events: []eventstore.Proposed{{Type: "T", Data: json.RawMessage(`{}`)}}}); err != nil {
					t.Fatal(err)
				}
			}
			if n, most := pool.Stat().NewConnsCount(), int64(pool.Config().MaxConns); n > most {
				t.Fatalf("%d connections opened for 100 appends, want at most %d", n, most)
			}
		})
	}
}
