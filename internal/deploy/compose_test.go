package deploy_test

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestCompose parses docker-compose.yml (there is no Docker engine here)
// and checks the deployment it describes.
func TestCompose(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, name := range []string{"postgres", "nats", "sessiond"} {
		svc, ok := c.Services[name]
		if !ok {
			t.Fatalf("no %s service", name)
		}
		if len(svc.Healthcheck.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
		for _, v := range svc.Volumes {
			vol, _, _ := strings.Cut(v, ":")
			if _, ok := c.Volumes[vol]; !ok {
				t.Errorf("%s uses undeclared volume %s", name, vol)
			}
		}
	}
	nats := c.Services["nats"]
	m := regexp.MustCompile(`^nats:(\d+)\.(\d+)`).FindStringSubmatch(nats.Image)
	if m == nil {
		t.Fatalf("nats image %q has no version", nats.Image)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	if major < 2 || major == 2 && minor < 11 {
		t.Errorf("nats image %s: want 2.11 or later (per-message TTL)", nats.Image)
	}
	if !strings.Contains(strings.Join(nats.Command, " "), "-js") {
		t.Errorf("nats runs without JetStream: %v", nats.Command)
	}
	sd := c.Services["sessiond"]
	if sd.Build == nil {
		t.Error("sessiond is not built from the Dockerfile")
	}
	for _, dep := range []string{"postgres", "nats"} {
		if sd.DependsOn[dep].Condition != "service_healthy" {
			t.Errorf("sessiond does not wait for a healthy %s", dep)
		}
	}
	if u := sd.Environment["DATABASE_URL"]; !strings.HasPrefix(u, "postgres://") || !strings.Contains(u, "@postgres:5432/") {
		t.Errorf("DATABASE_URL = %q, want the postgres service", u)
	}
	if u := sd.Environment["NATS_URL"]; u != "nats://nats:4222" {
		t.Errorf("NATS_URL = %q, want the nats service", u)
	}
	// migrate runs as the owner and grants the serve role; sessiond
	// serves as that role, once migrate has completed.
	pg, mig := c.Services["postgres"], c.Services["migrate"]
	owner := pg.Environment["POSTGRES_USER"] + ":" + pg.Environment["POSTGRES_PASSWORD"] + "@"
	if pg.Environment["POSTGRES_USER"] == "" || !strings.Contains(mig.Environment["DATABASE_URL"], owner) {
		t.Error("migrate does not connect as the owner (the postgres service's user)")
	}
	script := strings.Join(mig.Command, " ")
	role := regexp.MustCompile(`db grant --role (\w+)`).FindStringSubmatch(script)
	if !strings.Contains(script, "sessiond migrate") || role == nil {
		t.Fatalf("migrate's command %q does not migrate and grant a serve role", script)
	}
	app := role[1] + ":" + mig.Environment["SESSIOND_APP_PASSWORD"] + "@"
	if u := sd.Environment["DATABASE_URL"]; !strings.Contains(u, app) || strings.Contains(u, owner) {
		t.Errorf("sessiond's DATABASE_URL %q does not use the serve role %s", u, role[1])
	}
	if sd.DependsOn["migrate"].Condition != "service_completed_successfully" {
		t.Error("sessiond does not wait for migrate to complete")
	}
	if !strings.Contains(sd.Healthcheck.Test[len(sd.Healthcheck.Test)-1], "/readyz") {
		t.Errorf("sessiond health check %v does not probe /readyz", sd.Healthcheck.Test)
	}
}

// TestDockerfile checks the multi-stage build.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(df, -1)); n < 2 {
		t.Errorf("%d FROM lines, want a multi-stage build", n)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/sessiond", "./cmd/edgeverify", "COPY --from=build", "USER ", "HEALTHCHECK", "/readyz"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	goMod, _ := os.ReadFile("../../go.mod")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(goMod))
	if goVer == nil || !strings.Contains(df, "golang:"+goVer[1]) {
		t.Errorf("build image does not match go.mod's Go %v", goVer)
	}
}
