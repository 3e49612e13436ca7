// Command edgeverify rejects revoked sessions at the edge: as a reverse
// proxy in front of a service, or as the decision service behind an
// ingress's auth subrequest (nginx, Traefik, Caddy, Envoy ext_authz over
// HTTP or gRPC). See README.md, "Edge integrations". It imports only
// internal/edge of this module.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessiond/sessiond/internal/edge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := edge.NewMain().Run(ctx, os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "edgeverify:", err)
		os.Exit(1)
	}
}
