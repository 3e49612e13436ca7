package pgstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// AdminKeysChannel is the NOTIFY channel on which the database announces
// every committed AdminKeyCreated or AdminKeyRevoked event (a trigger on
// events, migration 00006), whichever process appended it.
const AdminKeysChannel = "sessiond_admin_keys"

// Listen holds a connection of its own (outside the pool), runs LISTEN
// channel on it and calls wake after each notification. It also calls
// wake after every (re)connection, since notifications sent while it was
// disconnected are lost. It reconnects after errors, every backoff, and
// returns when ctx ends.
func (s *Store) Listen(ctx context.Context, channel string, wake func(), backoff time.Duration, log *slog.Logger) {
	cfg := s.pool.Config().ConnConfig.Copy()
	failing := false
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg, channel, func() {
			if failing {
				log.InfoContext(ctx, "LISTEN connection restored", "channel", channel)
				failing = false
			}
			wake()
		}, wake)
		if ctx.Err() != nil {
			return
		}
		if !failing {
			log.WarnContext(ctx, "LISTEN connection lost; reconnecting", "channel", channel, "err", err)
			failing = true
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, channel string, connected, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	connected()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
