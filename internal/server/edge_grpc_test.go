package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/sessiond/sessiond/internal/natstest"
	"github.com/sessiond/sessiond/internal/pgtest"
)

// checkRequest is what Envoy's ext_authz filter sends for a request with
// these (lower-case) headers.
func checkRequest(headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: "GET", Path: "/orders/42", Host: "app", Headers: headers},
	}}}
}

func okHeaders(r *authv3.CheckResponse) map[string]string {
	out := map[string]string{}
	for _, h := range r.GetOkResponse().GetHeaders() {
		out[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		if h.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			out["append:"+h.GetHeader().GetKey()] = h.GetAppendAction().String()
		}
	}
	return out
}

// deniedCode checks a denied CheckResponse's HTTP status and returns the
// code of its JSON body.
func deniedCode(t *testing.T, r *authv3.CheckResponse, status int) string {
	t.Helper()
	d := r.GetDeniedResponse()
	if d == nil || codes.Code(r.GetStatus().GetCode()) == codes.OK {
		t.Fatalf("not denied: %v", r)
	}
	if got := int(d.GetStatus().GetCode()); got != status {
		t.Errorf("denied HTTP status = %d, want %d", got, status)
	}
	var body struct {
		StatusCode int    `json:"statusCode"`
		Code       string `json:"code"`
	}
	if err := json.Unmarshal([]byte(d.GetBody()), &body); err != nil || body.StatusCode != status {
		t.Errorf("denied body %q is not the contract's error for %d", d.GetBody(), status)
	}
	return body.Code
}

// TestEdgeGRPC: Envoy's ext_authz Check, called through a client built
// from go-control-plane's types, allows a valid token with the identity
// headers and denies a revoked one with 401 and the error JSON.
func TestEdgeGRPC(t *testing.T) {
	ns := natstest.Start(t)
	pool, dbURL := pgtest.NewPool(t)
	s := startServerOn(t, pool, dbURL, "NATS_URL", ns.URL(), "SESSIOND_ISSUER", testIssuer)
	admin := s.key("ops")
	e := startDecision(t, ns, s.URL+"/.well-known/jwks.json", "--grpc-listen", "127.0.0.1:0", "--token-cookie", "sid_token")
	conn, err := grpc.NewClient(e.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client := authv3.NewAuthorizationClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := func(req *authv3.CheckRequest) *authv3.CheckResponse {
		t.Helper()
		r, err := client.Check(ctx, req)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if err := r.ValidateAll(); err != nil { // Envoy's own constraints on the message
			t.Errorf("invalid CheckResponse: %v", err)
		}
		return r
	}

	tok := mintToken(t, s, admin, "alice", "g-1")
	r := check(checkRequest(map[string]string{"authorization": "Bearer " + tok, "x-user-id": "mallory"}))
	if codes.Code(r.GetStatus().GetCode()) != codes.OK || r.GetOkResponse() == nil {
		t.Fatalf("valid token: %v", r)
	}
	h := okHeaders(r)
	if h["X-User-Id"] != "alice" || h["X-Session-Id"] != "g-1" || len(h["X-Token-Expires-At"]) != len("2006-01-02T15:04:05Z") || len(h) != 3 {
		t.Errorf("OK headers = %v; want the verified identity, overwriting the client's", h)
	}
	// Envoy with encode_raw_headers sends header_map with raw values.
	raw := checkRequest(nil)
	raw.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: "cookie", RawValue: []byte("a=1")}, {Key: "cookie", RawValue: []byte("sid_token=" + tok)},
	}}
	if r := check(raw); codes.Code(r.GetStatus().GetCode()) != codes.OK {
		t.Errorf("token in a cookie of header_map: %v", r)
	}

	if r := check(checkRequest(map[string]string{"x-user-id": "mallory"})); deniedCode(t, r, 401) != "TOKEN_INVALID" {
		t.Errorf("no token: %v", r)
	}
	if r := s.do("DELETE", "/auth/admin/api/users/alice/sessions/g-1", admin, ""); r.Status != 200 {
		t.Fatalf("DELETE = %d", r.Status)
	}
	checkFor(t, 5*time.Second, func() error {
		r := check(checkRequest(map[string]string{"authorization": "Bearer " + tok}))
		if r.GetDeniedResponse() == nil {
			return fmt.Errorf("revoked still allowed: %v", r)
		}
		return nil
	})
	r = check(checkRequest(map[string]string{"authorization": "Bearer " + tok}))
	if got := deniedCode(t, r, 401); got != "SESSION_REVOKED" || codes.Code(r.GetStatus().GetCode()) != codes.Unauthenticated {
		t.Errorf("revoked: code %s, gRPC status %v", got, r.GetStatus())
	}
	denied := map[string]string{}
	for _, h := range r.GetDeniedResponse().GetHeaders() {
		denied[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	if denied["WWW-Authenticate"] != `Bearer error="invalid_token"` || denied["Content-Type"] != "application/json" {
		t.Errorf("denied headers = %v", denied)
	}

	hr, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hr.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc health: %v %v", hr, err)
	}
}
