// Package edge is edgeverify: a reverse proxy that puts the verifier SDK in
// front of an edge service. It forwards only requests whose session token
// is valid and whose session is not revoked, and tells the upstream who the
// user and the session are. cmd/edgeverify is a thin main around Main.
//
// It uses only the verifier package of this module, as any edge service
// would.
package edge
