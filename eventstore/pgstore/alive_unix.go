//go:build unix

package pgstore

import (
	"errors"
	"syscall"
)

// peek looks at the socket without blocking or consuming: true when the
// peer has closed (0 bytes), reset, or left bytes waiting.
func peek(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	// EAGAIN: nothing waiting, open and quiet. Anything else — 0 bytes
	// (closed), bytes waiting, an error — is not.
	return !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EWOULDBLOCK)
}
