package broadcast

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// explain turns a failure to set up the stream into one line an operator
// can act on: NATS unreachable (and why), JetStream not enabled, or the
// error itself. where names the server and the setting it came from.
func explain(nc *nats.Conn, where string, err error) string {
	if !nc.IsConnected() {
		return fmt.Sprintf("NATS is not reachable at %s: %s; revocations wait in the log and go out once it is", where, probe(nc))
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) ||
		errors.Is(err, nats.ErrNoResponders) || strings.Contains(err.Error(), "no responders") {
		return fmt.Sprintf("JetStream is not enabled on %s (start nats-server with -js); revocations wait in the log", where)
	}
	return fmt.Sprintf("broadcast stream not ready on %s: %v; revocations wait in the log", where, err)
}

// probe finds out why NATS cannot be reached: while nats.go retries a
// first connection it keeps no error of its own, so dial the first server.
func probe(nc *nats.Conn) string {
	for _, s := range nc.Servers() {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			continue
		}
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			var opErr *net.OpError
			if errors.As(err, &opErr) && opErr.Err != nil {
				return opErr.Err.Error()
			}
			return err.Error()
		}
		c.Close()
		return "the server accepts connections but the NATS handshake fails"
	}
	if err := nc.LastError(); err != nil {
		return err.Error()
	}
	return "not connected"
}
