// Package edge is edgeverify: the verifier SDK as a service in front of
// edge services. In proxy mode it is a reverse proxy that forwards only
// requests whose session token is valid and whose session is not revoked,
// telling the upstream who the user and the session are. In decision mode
// every path answers allow (200 with the identity headers) or deny (401 or
// 503 with the contract's error JSON) for an ingress's auth subrequest:
// nginx auth_request, Traefik forwardAuth, Caddy forward_auth, Envoy
// ext_authz over HTTP. With --grpc-listen it also serves Envoy's ext_authz
// gRPC service. cmd/edgeverify is a thin main around Main.
//
// It uses only the verifier package of this module, as any edge service
// would; the gRPC and Envoy dependencies are its own, never the SDK's.
package edge
