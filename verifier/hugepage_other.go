//go:build !linux

package verifier

import "unsafe"

// hugePage is the size adviseHuge works in.
const hugePage = 2 << 20

// adviseHuge does nothing outside Linux: the table keeps small pages.
func adviseHuge(p unsafe.Pointer, n uintptr) {}
