package deploy_test

import (
	"context"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// TestComposeLoads loads every Compose file with compose-go, the loader
// Docker Compose itself uses: its schema, interpolation, references
// between services, networks and volumes, and the consistency checks
// `docker compose config` runs.
func TestComposeLoads(t *testing.T) {
	for _, tc := range []struct {
		file     string
		services []string
	}{
		{"../../docker-compose.yml", []string{"postgres", "nats", "migrate", "sessiond"}},
		{"../../docker-compose.cluster.yml", []string{"postgres", "nats-1", "nats-2", "nats-3", "sessiond-1", "sessiond-2", "lb", "leaf", "edgeverify", "app"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			opts, err := cli.NewProjectOptions([]string{tc.file}, cli.WithWorkingDirectory("../.."),
				cli.WithConsistency(true), cli.WithResolvedPaths(true))
			if err != nil {
				t.Fatal(err)
			}
			p, err := opts.LoadProject(context.Background())
			if err != nil {
				t.Fatalf("compose-go refuses %s: %v", tc.file, err)
			}
			for _, name := range tc.services {
				if _, err := p.GetService(name); err != nil {
					t.Errorf("%s: %v", tc.file, err)
				}
			}
			if got, want := len(p.Services), len(tc.services); got != want {
				t.Errorf("%s has %d services, want %d", tc.file, got, want)
			}
		})
	}
}
