// Package migrations holds the numbered SQL migrations of sessiond's
// stores, embedded in the binary, and applies them with goose under a
// database lock so that concurrent starts cannot collide.
//
// It must not import any other package of this module.
package migrations
