package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/sessiond/sessiond/internal/natstest"
)

// clusterService is what TestComposeCluster reads of a service.
type clusterService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
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
}

// TestComposeCluster parses docker-compose.cluster.yml and the NATS and
// nginx configuration files it mounts, and checks the scaled-out
// deployment: 3 JetStream nodes routed to each other, 2 sessiond replicas
// on one PostgreSQL behind nginx with the stream at 3 replicas, and a leaf
// node with an edgeverify.
func TestComposeCluster(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.cluster.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]clusterService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.cluster.yml: %v", err)
	}
	nodes := []string{"nats-1", "nats-2", "nats-3"}
	replicas := []string{"sessiond-1", "sessiond-2"}
	for _, name := range append(append([]string{"postgres", "lb", "leaf", "edgeverify"}, nodes...), replicas...) {
		svc, ok := c.Services[name]
		if !ok {
			t.Fatalf("no %s service", name)
		}
		if len(svc.Healthcheck.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
	}
	for name, svc := range c.Services {
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(filepath.Join("../..", src)); err != nil {
					t.Errorf("%s mounts %s: %v", name, src, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("%s uses undeclared volume %s", name, src)
			}
		}
		for dep := range svc.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
			}
		}
	}

	// The JetStream cluster: one configuration, each node named by its
	// environment, routed to all three, with a domain and a leaf port.
	var domain string
	for _, name := range nodes {
		svc := c.Services[name]
		checkNATSImage(t, name, svc.Image)
		t.Setenv("NATS_SERVER_NAME", svc.Environment["NATS_SERVER_NAME"])
		opts := natsConfig(t, svc)
		if opts.ServerName != name {
			t.Errorf("%s: server_name = %q", name, opts.ServerName)
		}
		if !opts.JetStream || opts.JetStreamDomain == "" || opts.Cluster.Name == "" || opts.LeafNode.Port == 0 {
			t.Errorf("%s: want JetStream with a domain, a cluster name and a leaf node port: %+v", name, opts)
		}
		domain = opts.JetStreamDomain
		var routes []string
		for _, u := range opts.Routes {
			routes = append(routes, u.Hostname())
			if u.Port() != "6222" {
				t.Errorf("%s: route %s is not on the cluster port", name, u)
			}
		}
		for _, peer := range nodes {
			if !slices.Contains(routes, peer) {
				t.Errorf("%s has no route to %s", name, peer)
			}
		}
		if !volumeAt(svc, "/data") || opts.StoreDir != "/data" {
			t.Errorf("%s: the JetStream store (%s) is not on a volume", name, opts.StoreDir)
		}
	}

	// The sessiond replicas.
	pg := c.Services["postgres"]
	for _, name := range replicas {
		sd := c.Services[name]
		if sd.Build == nil {
			t.Errorf("%s is not built from the Dockerfile", name)
		}
		e := sd.Environment
		if !strings.Contains(e["DATABASE_URL"], pg.Environment["POSTGRES_USER"]+":"+pg.Environment["POSTGRES_PASSWORD"]+"@postgres:5432/") {
			t.Errorf("%s: DATABASE_URL = %q, want the postgres service", name, e["DATABASE_URL"])
		}
		for _, n := range nodes {
			if !strings.Contains(e["NATS_URL"], "nats://"+n+":4222") {
				t.Errorf("%s: NATS_URL %q does not list %s", name, e["NATS_URL"], n)
			}
		}
		if e["SESSIOND_STREAM_REPLICAS"] != "3" {
			t.Errorf("%s: SESSIOND_STREAM_REPLICAS = %q, want 3", name, e["SESSIOND_STREAM_REPLICAS"])
		}
		for _, dep := range append([]string{"postgres"}, nodes...) {
			if sd.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("%s does not wait for a healthy %s", name, dep)
			}
		}
		if !strings.Contains(strings.Join(sd.Healthcheck.Test, " "), "/readyz") {
			t.Errorf("%s: health check %v does not probe /readyz", name, sd.Healthcheck.Test)
		}
		if !volumeAt(sd, "/data") {
			t.Errorf("%s: no shared data dir for the signing key", name)
		}
	}
	if a, b := c.Services["sessiond-1"].Volumes, c.Services["sessiond-2"].Volumes; !slices.Equal(a, b) {
		t.Errorf("the replicas do not share the signing key's volume: %v, %v", a, b)
	}

	// nginx balances over both replicas.
	lb := c.Services["lb"]
	if !strings.HasPrefix(lb.Image, "nginx:") {
		t.Errorf("lb image %q, want the official nginx image", lb.Image)
	}
	conf := mountedFile(t, lb, "/etc/nginx/conf.d/default.conf")
	site, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range replicas {
		if !regexp.MustCompile(`(?m)^\s*server\s+` + name + `:8080\b`).Match(site) {
			t.Errorf("nginx upstream lacks %s:8080", name)
		}
	}
	if !slices.Contains(lb.Ports, "8080:8080") || !regexp.MustCompile(`(?m)^\s*listen\s+8080;`).Match(site) {
		t.Errorf("lb: ports %v and the nginx listen port disagree", lb.Ports)
	}
	nginxSyntax(t, site)

	// The leaf node maps JetStream to the hub's domain and dials every node.
	leaf := c.Services["leaf"]
	checkNATSImage(t, "leaf", leaf.Image)
	lopts := natsConfig(t, leaf)
	if lopts.JetStream {
		t.Error("the leaf node runs JetStream of its own; verifiers would not see the hub's stream")
	}
	if got := lopts.JsAccDefaultDomain[server.DEFAULT_GLOBAL_ACCOUNT]; got != domain {
		t.Errorf("leaf default_js_domain = %q, want the hub's %q", got, domain)
	}
	var remotes []string
	for _, r := range lopts.LeafNode.Remotes {
		for _, u := range r.URLs {
			remotes = append(remotes, u.Host)
		}
	}
	for _, n := range nodes {
		if !slices.Contains(remotes, n+":7422") {
			t.Errorf("the leaf node does not dial %s:7422: %v", n, remotes)
		}
	}

	// edgeverify reads revocations from the leaf and keys through nginx.
	ev := c.Services["edgeverify"]
	args := strings.Join(ev.Command, " ")
	for _, want := range []string{"--nats-url=nats://leaf:4222", "--jwks-url=http://lb:8080/.well-known/jwks.json",
		"--issuer=" + c.Services["sessiond-1"].Environment["SESSIOND_ISSUER"], "--upstream="} {
		if !strings.Contains(args, want) {
			t.Errorf("edgeverify command %q lacks %q", args, want)
		}
	}
	if !slices.Equal(ev.Entrypoint, []string{"edgeverify"}) || ev.Build == nil {
		t.Errorf("edgeverify: entrypoint %v, want the edgeverify binary of the sessiond image", ev.Entrypoint)
	}
}

func checkNATSImage(t *testing.T, name, image string) {
	t.Helper()
	if !regexp.MustCompile(`^nats:2\.(1[1-9]|[2-9]\d)`).MatchString(image) {
		t.Errorf("%s: image %q, want nats 2.11 or later (per-message TTL)", name, image)
	}
}

// natsConfig parses the configuration file a NATS service is started with,
// as nats-server itself does.
func natsConfig(t *testing.T, svc clusterService) *server.Options {
	t.Helper()
	i := slices.Index(svc.Command, "-c")
	if i < 0 || i+1 >= len(svc.Command) {
		t.Fatalf("NATS command %v names no configuration file", svc.Command)
	}
	opts, err := server.ProcessConfigFile(mountedFile(t, svc, svc.Command[i+1]))
	if err != nil {
		t.Fatalf("%s: %v", svc.Command[i+1], err)
	}
	return opts
}

// mountedFile is the repository file a service mounts at target.
func mountedFile(t *testing.T, svc clusterService, target string) string {
	t.Helper()
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target && strings.HasPrefix(parts[0], "./") {
			return filepath.Join("../..", parts[0])
		}
	}
	t.Fatalf("no file of the repository is mounted at %s: %v", target, svc.Volumes)
	return ""
}

func volumeAt(svc clusterService, target string) bool {
	for _, v := range svc.Volumes {
		if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == target {
			return true
		}
	}
	return false
}

// nginxSyntax runs nginx -t on the site configuration when nginx is
// installed. Compose's service names do not resolve here, so they are
// replaced by 127.0.0.1 first.
func nginxSyntax(t *testing.T, site []byte) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Log("nginx is not installed; its syntax check is skipped")
		return
	}
	dir := t.TempDir()
	local := regexp.MustCompile(`sessiond-\d+:`).ReplaceAll(site, []byte("127.0.0.1:"))
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), local, 0o600); err != nil {
		t.Fatal(err)
	}
	main := "error_log stderr;\npid " + dir + "/nginx.pid;\nevents {}\nhttp {\n  access_log off;\n"
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		main += "  " + p + "_temp_path " + filepath.Join(dir, p) + ";\n"
	}
	main += "  include " + filepath.Join(dir, "site.conf") + ";\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-t", "-c", filepath.Join(dir, "nginx.conf"), "-p", dir).CombinedOutput(); err != nil {
		t.Errorf("nginx -t: %v\n%s", err, out)
	}
}

// TestMirrorConfig: deploy/nats/sessions-mirror.json, what an operator
// gives `nats stream add --config` on a JetStream leaf node, is the mirror
// the cluster tests run (natstest.MirrorConfig), pointed at the cluster
// profile's hub domain.
func TestMirrorConfig(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/nats/sessions-mirror.json")
	if err != nil {
		t.Fatal(err)
	}
	var got jetstream.StreamConfig
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := natstest.MirrorConfig("SESSIONS")
	want.Replicas = 1
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sessions-mirror.json:\n got %+v\nwant %+v", got, want)
	}
	t.Setenv("NATS_SERVER_NAME", "nats-1")
	hub, err := server.ProcessConfigFile("../../deploy/nats/cluster.conf")
	if err != nil {
		t.Fatal(err)
	}
	if api := "$JS." + hub.JetStreamDomain + ".API"; got.Mirror.External.APIPrefix != api {
		t.Errorf("the mirror reads %s, the hub's domain answers on %s", got.Mirror.External.APIPrefix, api)
	}
}
