// Package layering holds the test that enforces the module's import
// rules: which of the module's packages each package may import. It has
// no code of its own.
package layering
