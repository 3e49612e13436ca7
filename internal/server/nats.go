package server

import (
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/broadcast"
)

// startBroadcast connects to NATS and starts the relay and the immediate
// path. NATS being down at start-up is not an error: the client keeps
// reconnecting and revocations wait in the log.
func (m *Main) startBroadcast(url string, ns *embeddedNATS, db *backend, log *slog.Logger) (*nats.Conn, *broadcast.Service, error) {
	nc, err := connectNATS(url, ns, log)
	if err != nil {
		return nil, nil, configError("--nats-url (NATS_URL)", "%v", err)
	}
	bs, err := broadcast.Start(db.store, db.elect, nc, broadcast.Options{
		Publisher: broadcast.PublisherOptions{AckWait: m.Config.BroadcastWait},
		Relay:     broadcast.RelayOptions{Heartbeat: m.Config.Heartbeat},
		Logger:    log.With("subsystem", "broadcast"),
		Where:     natsWhere(url, m.Config.NATSURL == ""),
		Stream:    broadcast.StreamOptions{Replicas: m.Config.StreamReplicas, MaxConsumers: m.Config.StreamMaxConsumers},
	})
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	registerLag(db.store, bs.Relay().Runner())
	replaceCollector("broadcast-lag", bs.Relay().Collector())
	return nc, bs, nil
}

// natsWhere names a NATS server and where its address came from.
func natsWhere(url string, embedded bool) string {
	if embedded {
		return redactURL(url) + " (the embedded server, --nats-listen / SESSIOND_NATS_LISTEN)"
	}
	return redactURL(url) + " (--nats-url / NATS_URL)"
}

// connectNATS connects sessiond's own connection, reconnecting for ever.
// With the embedded server (ns), it talks to it through an in-process
// pipe rather than TCP: a publish and its ack then make no system call
// (BenchmarkPublishPath, a JetStream publish and its ack: 69–76 µs over
// loopback TCP, 24–36 µs in process, on the development machine).
func connectNATS(url string, ns *embeddedNATS, log *slog.Logger) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("sessiond"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1), // never queue while disconnected: the log is the queue
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close at shutdown
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "server", c.ConnectedUrlRedacted()) }),
	}
	if ns != nil {
		opts = append(opts, nats.InProcessServer(ns.srv))
	}
	return nats.Connect(url, opts...)
}
