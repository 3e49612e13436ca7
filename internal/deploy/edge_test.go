package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"gopkg.in/yaml.v3"

	"github.com/sessiond/sessiond/internal/ingresstest"
)

const edgeDir = "../../deploy/edge/"

// identityHeaders are what every example must copy from edgeverify's 200
// to the app's request.
var identityHeaders = []string{"X-User-Id", "X-Session-Id", "X-Token-Expires-At"}

// TestEdgeNginxSyntax: nginx -t accepts deploy/edge/nginx.conf as shipped
// (TestEdgeNginx in internal/server runs it for real).
func TestEdgeNginxSyntax(t *testing.T) {
	b, err := os.ReadFile(edgeDir + "nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	ingresstest.CheckNginx(t, string(b))
}

// TestEdgeCaddy: caddy validate accepts deploy/edge/Caddyfile (it adapts
// and provisions every module); TestEdgeCaddy in internal/server runs it.
func TestEdgeCaddy(t *testing.T) {
	b, err := os.ReadFile(edgeDir + "Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	ingresstest.CheckCaddy(t, string(b))
	for _, want := range []string{"forward_auth 127.0.0.1:8082", "copy_headers " + strings.Join(identityHeaders, " "), "reverse_proxy 127.0.0.1:9000"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("Caddyfile lacks %q", want)
		}
	}
}

// traefikStatic and traefikDynamic are the parts of Traefik's
// configuration schema the examples use; unknown fields fail the parse,
// so a misspelt key is caught. Traefik itself is not installable here.
type traefikStatic struct {
	EntryPoints map[string]struct {
		Address string `yaml:"address"`
	} `yaml:"entryPoints"`
	Providers struct {
		File struct {
			Filename string `yaml:"filename"`
		} `yaml:"file"`
	} `yaml:"providers"`
}

type traefikDynamic struct {
	HTTP struct {
		Routers map[string]struct {
			EntryPoints []string `yaml:"entryPoints"`
			Rule        string   `yaml:"rule"`
			Middlewares []string `yaml:"middlewares"`
			Service     string   `yaml:"service"`
		} `yaml:"routers"`
		Middlewares map[string]struct {
			ForwardAuth *struct {
				Address             string   `yaml:"address"`
				AuthResponseHeaders []string `yaml:"authResponseHeaders"`
			} `yaml:"forwardAuth"`
		} `yaml:"middlewares"`
		Services map[string]struct {
			LoadBalancer struct {
				Servers []struct {
					URL string `yaml:"url"`
				} `yaml:"servers"`
			} `yaml:"loadBalancer"`
		} `yaml:"services"`
	} `yaml:"http"`
}

func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestEdgeTraefik parses deploy/edge/traefik*.yml against the schema
// subset above and checks the wiring: every router's middlewares and
// service exist, and forwardAuth asks edgeverify and copies the identity.
func TestEdgeTraefik(t *testing.T) {
	var st traefikStatic
	decodeStrict(t, edgeDir+"traefik.yml", &st)
	if st.EntryPoints["web"].Address != "127.0.0.1:8080" {
		t.Errorf("entry point web = %+v", st.EntryPoints)
	}
	var dyn traefikDynamic
	decodeStrict(t, filepath.Join(edgeDir, st.Providers.File.Filename), &dyn)
	h := dyn.HTTP
	if len(h.Routers) == 0 {
		t.Fatal("no routers")
	}
	for name, r := range h.Routers {
		for _, ep := range r.EntryPoints {
			if _, ok := st.EntryPoints[ep]; !ok {
				t.Errorf("router %s: unknown entry point %s", name, ep)
			}
		}
		if len(r.Middlewares) == 0 {
			t.Errorf("router %s is not protected", name)
		}
		for _, m := range r.Middlewares {
			fa := h.Middlewares[m].ForwardAuth
			if fa == nil {
				t.Errorf("router %s: middleware %s is not a forwardAuth", name, m)
				continue
			}
			if fa.Address != "http://127.0.0.1:8082/" || !slices.Equal(fa.AuthResponseHeaders, identityHeaders) {
				t.Errorf("forwardAuth %s = %+v", m, fa)
			}
		}
		if s, ok := h.Services[r.Service]; !ok || len(s.LoadBalancer.Servers) != 1 || s.LoadBalancer.Servers[0].URL != "http://127.0.0.1:9000" {
			t.Errorf("router %s: service %s = %+v", name, r.Service, s)
		}
	}
}

// TestEdgeEnvoy parses deploy/edge/envoy*.yaml into Envoy's own v3
// bootstrap types (go-control-plane), runs their generated validation on
// the bootstrap and on every typed_config it holds, and checks the wiring:
// ext_authz before the router, failing closed, pointed at edgeverify.
// Envoy itself is not installable here.
func TestEdgeEnvoy(t *testing.T) {
	for _, c := range []struct {
		file, cluster string
		port          uint32
		grpc          bool
	}{
		{"envoy.yaml", "edgeverify", 8083, true},
		{"envoy-http.yaml", "edgeverify", 8082, false},
	} {
		t.Run(c.file, func(t *testing.T) {
			bs := loadEnvoy(t, edgeDir+c.file)
			clusters := map[string]*clusterv3.Cluster{}
			for _, cl := range bs.GetStaticResources().GetClusters() {
				clusters[cl.GetName()] = cl
				for name, opt := range cl.GetTypedExtensionProtocolOptions() {
					validAny(t, "cluster "+cl.GetName()+" "+name, opt)
				}
			}
			ls := bs.GetStaticResources().GetListeners()
			if len(ls) != 1 || ls[0].GetAddress().GetSocketAddress().GetPortValue() != 8080 {
				t.Fatalf("want one listener on 8080: %v", ls)
			}
			var hcm hcmv3.HttpConnectionManager
			filters := ls[0].GetFilterChains()[0].GetFilters()
			validAny(t, "listener filter", filters[0].GetTypedConfig())
			if err := filters[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
				t.Fatal(err)
			}
			for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
				for _, r := range vh.GetRoutes() {
					if clusters[r.GetRoute().GetCluster()] == nil {
						t.Errorf("route to unknown cluster %q", r.GetRoute().GetCluster())
					}
				}
			}
			hf := hcm.GetHttpFilters()
			if len(hf) != 2 || hf[0].GetName() != "envoy.filters.http.ext_authz" || hf[1].GetName() != "envoy.filters.http.router" {
				t.Fatalf("http filters: want ext_authz then router, got %v", hf)
			}
			for _, f := range hf {
				validAny(t, f.GetName(), f.GetTypedConfig())
			}
			var az extauthzv3.ExtAuthz
			if err := hf[0].GetTypedConfig().UnmarshalTo(&az); err != nil {
				t.Fatal(err)
			}
			if az.GetFailureModeAllow() {
				t.Error("ext_authz lets requests through when edgeverify is unreachable")
			}
			name := az.GetGrpcService().GetEnvoyGrpc().GetClusterName()
			if !c.grpc {
				name = az.GetHttpService().GetServerUri().GetCluster()
				var up []string
				for _, p := range az.GetHttpService().GetAuthorizationResponse().GetAllowedUpstreamHeaders().GetPatterns() {
					up = append(up, p.GetExact())
				}
				if !slices.Equal(up, []string{"x-user-id", "x-session-id", "x-token-expires-at"}) {
					t.Errorf("allowed_upstream_headers = %v", up)
				}
			}
			cl := clusters[name]
			if name != c.cluster || cl == nil {
				t.Fatalf("ext_authz asks cluster %q; want %q", name, c.cluster)
			}
			port := cl.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue()
			if port != c.port {
				t.Errorf("cluster %s on port %d, want %d", name, port, c.port)
			}
			if c.grpc {
				var po upstreamhttpv3.HttpProtocolOptions
				opt := cl.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
				if opt == nil || opt.UnmarshalTo(&po) != nil || po.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
					t.Error("the gRPC cluster does not speak HTTP/2")
				}
			}
		})
	}
}

// loadEnvoy parses an Envoy YAML file into a validated Bootstrap.
func loadEnvoy(t *testing.T, path string) *bootstrapv3.Bootstrap {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var bs bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &bs); err != nil {
		t.Fatalf("%s is not an Envoy v3 bootstrap: %v", path, err)
	}
	if err := bs.ValidateAll(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &bs
}

// validAny runs the generated validation of a typed_config's message.
func validAny(t *testing.T, what string, a *anypb.Any) {
	t.Helper()
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	v, ok := m.(interface{ ValidateAll() error })
	if !ok {
		t.Fatalf("%s: %T has no validation", what, m)
	}
	if err := v.ValidateAll(); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}
