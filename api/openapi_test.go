package api_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/sessiond/sessiond/api"
)

type operation struct {
	Responses map[string]struct {
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type document struct {
	OpenAPI    string                                `json:"openapi"`
	Items      map[string]map[string]json.RawMessage `json:"paths"`
	Paths      map[string]map[string]operation       `json:"-"`
	Components struct {
		Schemas map[string]struct {
			Required   []string                  `json:"required"`
			Properties map[string]map[string]any `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadDoc(t *testing.T) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(api.OpenAPI, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	d.Paths = map[string]map[string]operation{}
	for path, item := range d.Items {
		d.Paths[path] = map[string]operation{}
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			d.Paths[path][method] = op
		}
	}
	return d
}

// TestOpenAPIMatchesRouter: every route the router serves is in the
// document, and every operation in the document is served.
func TestOpenAPIMatchesRouter(t *testing.T) {
	d := loadDoc(t)
	if !strings.HasPrefix(d.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", d.OpenAPI)
	}
	served := map[string]bool{}
	s := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger()})
	err := s.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			served[strings.ToLower(m)+" "+path] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range d.Paths {
		for method := range ops {
			documented[method+" "+path] = true
		}
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("served but not documented: %s", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("documented but not served: %s", op)
		}
	}
	if len(served) < 9 {
		t.Errorf("router walk found only %v", keys(served))
	}
}

// TestOpenAPISeed: the seed endpoint is documented exactly as the seed
// gives it.
func TestOpenAPISeed(t *testing.T) {
	d := loadDoc(t)
	op, ok := d.Paths["/auth/admin/api/users/{id}/sessions/{sessionId}"]["delete"]
	if !ok {
		t.Fatal("no DELETE /auth/admin/api/users/{id}/sessions/{sessionId}")
	}
	for _, code := range []string{"200", "400", "401", "403", "404"} {
		if _, ok := op.Responses[code]; !ok {
			t.Errorf("no %s response", code)
		}
	}
	for _, code := range []string{"400", "401", "403", "404"} {
		if ref := op.Responses[code].Content["application/json"].Schema.Ref; ref != "#/components/schemas/ApiErrorResponseDto" {
			t.Errorf("%s schema = %q", code, ref)
		}
	}
	dto := d.Components.Schemas["ApiErrorResponseDto"]
	sort.Strings(dto.Required)
	if got := strings.Join(dto.Required, ","); got != "code,error,message,statusCode" {
		t.Errorf("ApiErrorResponseDto required = %s", got)
	}
	for field, typ := range map[string]string{"statusCode": "number", "error": "string", "message": "string", "code": "string"} {
		if dto.Properties[field]["type"] != typ {
			t.Errorf("ApiErrorResponseDto.%s type = %v, want %s", field, dto.Properties[field]["type"], typ)
		}
	}
	var raw map[string]any
	json.Unmarshal(api.OpenAPI, &raw)
	params := raw["paths"].(map[string]any)["/auth/admin/api/users/{id}/sessions/{sessionId}"].(map[string]any)["parameters"].([]any)
	var names []string
	for _, p := range params {
		pm := p.(map[string]any)
		if pm["in"] != "path" || pm["required"] != true {
			t.Errorf("parameter %v is not a required path parameter", pm["name"])
		}
		names = append(names, pm["name"].(string))
	}
	if strings.Join(names, ",") != "id,sessionId" {
		t.Errorf("parameters = %v", names)
	}
}

func TestOpenAPIServed(t *testing.T) {
	s := api.New(api.Options{Service: &fakeService{}, Logger: quietLogger()})
	rec := serve(t, s, http.MethodGet, "/openapi.json", "")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("GET /openapi.json = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
