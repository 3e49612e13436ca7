package layering_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/sessiond/sessiond/"

// rules lists, for every package of the module (without the module
// prefix), the module packages it may import; each package's doc comment
// states the same, and the README's Layout says it in words: the domain
// imports nothing; the event-log core and its consumer runner only the
// domain-free eventstore; adapters (stores, projections, broadcast, ssf,
// witness) the domain and the log core, never each other; internal/app
// (the use cases) the domain, the log core and the read model's types; the
// HTTP adapters (api, console) only the domain, internal/app and the
// shapes they share (internal/apiwire), never each other, the log or the
// read model; internal/server wires everything.
var rules = map[string][]string{
	"domain":                 {},
	"eventstore":             {},
	"eventstore/consumer":    {"eventstore"},
	"eventstore/pgstore":     {"eventstore"},
	"eventstore/sqlitestore": {"eventstore"},
	"projections":            {"domain", "eventstore"},
	"migrations":             {},
	"broadcast":              {"domain", "eventstore", "eventstore/consumer", "verifier/wire"},
	"ssf":                    {"domain", "eventstore", "internal/keyfile"},
	"ssf/receiver":           {},
	"witness":                {},
	"verifier":               {"verifier/wire"},
	"verifier/wire":          {},
	"internal/tokens":        {"internal/keyfile"},
	"internal/keyfile":       {},
	"internal/auditkey":      {"internal/keyfile", "internal/tokens"},
	"internal/app":           {"domain", "eventstore", "internal/auditkey", "projections"},
	"internal/apiwire":       {"domain", "internal/app"},
	"api":                    {"domain", "internal/apiwire", "internal/app"},
	"console":                {"domain", "internal/apiwire", "internal/app"},
	"internal/adminoidc":     {"domain", "internal/app"},
	"internal/edge":          {"verifier"},
	"internal/bench":         {"verifier"},
	"internal/server":        nil, // the wiring: anything
	"cmd/sessiond":           {"internal/server"},
	"cmd/edgeverify":         {"internal/edge"},
	// Test harnesses.
	"internal/pgtest":      {"internal/freeport"},
	"internal/freeport":    {},
	"internal/natstest":    {"internal/freeport", "internal/waitfor"},
	"internal/netfault":    {},
	"internal/waitfor":     {},
	"internal/testlog":     {},
	"internal/ingresstest": {"internal/testlog", "internal/waitfor"},
	"internal/openapitest": {"api"},
	"internal/storetest":   {"domain", "eventstore", "eventstore/consumer", "internal/app", "internal/waitfor", "projections"},
	"internal/deploy":      {},
	"internal/oidctest":    {},
	"internal/layering":    {},
	"faults":               {},
}

// stdlibOnly are packages that may import nothing outside the standard
// library (and the module packages their rule allows).
var stdlibOnly = []string{"domain", "internal/freeport", "verifier/wire", "internal/waitfor", "internal/netfault", "internal/testlog", "internal/ingresstest"}

type pkg struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func standard(t *testing.T, imports []string) map[string]bool {
	t.Helper()
	if len(imports) == 0 {
		return nil
	}
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}} {{.Standard}}"}, imports...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	std := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		std[f[0]] = f[1] == "true"
	}
	return std
}

// TestImportRules: every package has a documented rule and keeps to it.
func TestImportRules(t *testing.T) {
	pkgs := list(t)
	seen := map[string]bool{}
	for _, p := range pkgs {
		name := strings.TrimPrefix(p.ImportPath, module)
		seen[name] = true
		allowed, ok := rules[name]
		if !ok {
			t.Errorf("package %s has no import rule: add it to rules (and to the README's Layout)", name)
			continue
		}
		var bad []string
		for _, imp := range p.Imports {
			inner, isModule := strings.CutPrefix(imp, module)
			if !isModule || allowed == nil {
				continue
			}
			if !slices.Contains(allowed, inner) {
				bad = append(bad, inner)
			}
		}
		if slices.Contains(stdlibOnly, name) {
			for imp, isStd := range standard(t, p.Imports) {
				if !isStd && !strings.HasPrefix(imp, module) {
					bad = append(bad, imp)
				}
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			t.Errorf("%s imports %s, which its rule does not allow (allowed: %v)", name, strings.Join(bad, ", "), allowed)
		}
	}
	for name := range rules {
		if !seen[name] {
			t.Errorf("rule for %s, which no longer exists", name)
		}
	}
}
