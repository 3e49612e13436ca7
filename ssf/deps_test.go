package ssf_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies: the transmitter is an adapter on domain and eventstore
// alone (plus the key-file helper) (never api, broadcast, projections or a store); the receiver
// imports nothing of sessiond.
func TestDependencies(t *testing.T) {
	for pkg, allowed := range map[string][]string{
		".":          {"ssf", "domain", "eventstore", "internal/keyfile"},
		"./receiver": {"ssf/receiver"},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ours := strings.CutPrefix(dep, "github.com/sessiond/sessiond/")
			if !ours {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || rest == a
			}
			if !ok {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
