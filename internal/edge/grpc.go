package edge

import (
	"context"
	"net/http"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// AuthServer is Envoy's external authorization service
// (envoy.service.auth.v3.Authorization) answering with the same decisions
// as the HTTP decision endpoint: OK responses add X-Session-Id, X-User-Id
// and X-Token-Expires-At to the upstream request (overwriting any the
// client sent); denied ones carry the HTTP status, WWW-Authenticate and the
// contract's error JSON for Envoy to send to the client.
type AuthServer struct {
	authv3.UnimplementedAuthorizationServer
	d *Decider
}

// NewGRPCServer returns a gRPC server with the Authorization service and
// the standard health service (grpc.health.v1, serving).
func NewGRPCServer(d *Decider) *grpc.Server {
	s := grpc.NewServer()
	authv3.RegisterAuthorizationServer(s, &AuthServer{d: d})
	healthpb.RegisterHealthServer(s, health.NewServer())
	return s
}

// Check implements envoy.service.auth.v3.Authorization/Check. It reads
// only the request's headers; a body Envoy may have been told to send is
// ignored.
func (s *AuthServer) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	d := s.d
	auth, cookie := requestHeaders(req.GetAttributes().GetRequest().GetHttp())
	var cookies func() []*http.Cookie
	if d.cookie != "" && cookie != "" {
		cookies = func() []*http.Cookie { return parseCookies(cookie) }
	}
	dec := d.Decide(ctx, d.Token(auth, cookies))
	d.metrics.count(transportGRPC, dec)
	if dec.Allowed() {
		return &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				Headers: []*corev3.HeaderValueOption{
					overwrite(HeaderSessionID, dec.Claims.SessionID),
					overwrite(HeaderUserID, dec.Claims.Subject),
					overwrite(HeaderTokenExpiresAt, dec.ExpiresAt()),
				},
			}},
		}, nil
	}
	deny := dec.Deny
	code := codes.Unauthenticated
	if deny.Status == http.StatusServiceUnavailable {
		code = codes.Unavailable
	}
	headers := []*corev3.HeaderValueOption{overwrite("Content-Type", "application/json"), overwrite("Cache-Control", "no-store")}
	if deny.WWWAuthenticate != "" {
		headers = append(headers, overwrite("WWW-Authenticate", deny.WWWAuthenticate))
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code), Message: deny.Code},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(deny.Status)},
			Headers: headers,
			Body:    string(deny.Body),
		}},
	}, nil
}

// requestHeaders returns the Authorization and Cookie values of a checked
// request. Envoy sends lower-case names, in headers or, with
// encode_raw_headers, in header_map (values in raw_value).
func requestHeaders(h *authv3.AttributeContext_HttpRequest) (auth, cookie string) {
	if m := h.GetHeaders(); len(m) > 0 {
		return m["authorization"], m["cookie"]
	}
	for _, hv := range h.GetHeaderMap().GetHeaders() {
		v := hv.GetValue()
		if v == "" {
			v = string(hv.GetRawValue())
		}
		switch strings.ToLower(hv.GetKey()) {
		case "authorization":
			if auth == "" {
				auth = v
			}
		case "cookie":
			if cookie == "" {
				cookie = v
			} else {
				cookie += "; " + v
			}
		}
	}
	return auth, cookie
}

func parseCookies(header string) []*http.Cookie {
	r := http.Request{Header: http.Header{"Cookie": {header}}}
	return r.Cookies()
}

func overwrite(key, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: key, Value: value},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}
