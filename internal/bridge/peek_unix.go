//go:build !windows

package bridge

import (
	"errors"
	"syscall"
)

// socketGone looks at socket fd without blocking and without consuming data: a
// non-blocking recv with MSG_PEEK.
func socketGone(fd uintptr) bool {
	var buf [1]byte
	n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch {
	case err == nil:
		return n == 0 || peerFinished(int(fd))
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		return false
	default:
		return true // ECONNRESET and friends
	}
}
