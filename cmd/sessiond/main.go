// Command sessiond is the event-sourced session authority. See README.md.
// It imports only internal/server of this module, whose Main it runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessiond/sessiond/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := server.NewMain().Run(ctx, os.Args[1:])
	var exit *server.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		if !errors.Is(err, flag.ErrHelp) && exit.Code != 1 {
			fmt.Fprintln(os.Stderr, "sessiond:", err)
		}
		os.Exit(exit.Code)
	default:
		fmt.Fprintln(os.Stderr, "sessiond:", err)
		os.Exit(1)
	}
}
