package verifier_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sessiond/sessiond/verifier"
)

// exampleNATS is set by TestMain to an in-process nats-server that sessiond
// (played by a feed) broadcasts to.
var exampleNATS string

// An edge service connects to the NATS that sessiond broadcasts on, builds
// a Verifier, and checks every request's session.
func Example() {
	nc, err := nats.Connect(exampleNATS)
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := verifier.New(ctx, nc, verifier.WithMaxStaleness(5*time.Second))
	if err != nil {
		panic(err)
	}
	defer v.Close()

	fmt.Println(v.Check("session-that-was-revoked"))
	fmt.Println(v.Check("some-other-session"))

	// Or guard handlers: with WithJWKS(sessiond's /.well-known/jwks.json)
	// the middleware verifies bearer tokens; revoked sessions get 401
	// SESSION_REVOKED. Here a trusted gateway already set X-Session-Id.
	g, _ := verifier.New(ctx, nc, verifier.WithSessionID(verifier.SessionIDHeader("X-Session-Id")))
	defer g.Close()
	_ = g.Middleware(http.NotFoundHandler())
	// Output:
	// verifier: session revoked
	// <nil>
}
