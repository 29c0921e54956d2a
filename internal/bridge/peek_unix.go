//go:build !windows

package bridge

import (
	"errors"
	"net"
	"syscall"
)

// peerGone reports whether the peer of c closed or reset the connection. It never
// blocks and never consumes data: a non-blocking recv with MSG_PEEK.
func peerGone(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	// raw.Read fails once the connection is closed by us: then it is not a disconnect,
	// and the closed descriptor number is never touched.
	_ = raw.Read(func(fd uintptr) bool {
		var buf [1]byte
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == nil:
			gone = n == 0 || peerFinished(int(fd))
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		default:
			gone = true // ECONNRESET and friends
		}
		return true
	})
	return gone
}
