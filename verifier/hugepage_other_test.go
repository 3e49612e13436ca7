//go:build !linux

package verifier

import "unsafe"

// hugeShare is unknown outside Linux.
func hugeShare(unsafe.Pointer, uintptr) (float64, bool) { return 0, false }

// adviseSmall does nothing outside Linux.
func adviseSmall(unsafe.Pointer, uintptr) {}
