package verifier_test

import (
	"os/exec"
	"strings"
	"testing"
)

// allowedModules are the only modules the SDK may pull in: nats.go,
// prometheus/client_golang and go-jose, with their own dependencies.
var allowedModules = map[string]bool{
	"github.com/sessiond/sessiond":        true, // only the verifier package and verifier/wire, checked below
	"github.com/nats-io/nats.go":          true,
	"github.com/nats-io/nkeys":            true,
	"github.com/nats-io/nuid":             true,
	"github.com/klauspost/compress":       true,
	"golang.org/x/crypto":                 true,
	"golang.org/x/sys":                    true,
	"github.com/prometheus/client_golang": true,
	"github.com/prometheus/client_model":  true,
	"github.com/prometheus/common":        true,
	"github.com/prometheus/procfs":        true,
	"github.com/beorn7/perks":             true,
	"github.com/cespare/xxhash/v2":        true,
	"github.com/munnerz/goautoneg":        true,
	"google.golang.org/protobuf":          true,
	"github.com/go-jose/go-jose/v4":       true, // the JWT library
}

// TestDependencies: edge services embed the SDK, so it must not import the
// server (pgx, mux, stores, api) or anything else.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, mod, _ := strings.Cut(line, " ")
		if !allowedModules[mod] {
			t.Errorf("verifier depends on %s (module %q)", pkg, mod)
		}
		if mod == "github.com/sessiond/sessiond" && pkg != "github.com/sessiond/sessiond/verifier" && pkg != wirePkg {
			t.Errorf("verifier imports server package %s", pkg)
		}
	}
	// The wire types, shared with the server's relay, need only the
	// standard library.
	out, err = exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./wire").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != wirePkg {
		t.Errorf("verifier/wire depends on more than the standard library:\n%s", got)
	}
}

const wirePkg = "github.com/sessiond/sessiond/verifier/wire"
