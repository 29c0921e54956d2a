package bridge

import (
	"net"
	"syscall"
)

// peerGone reports whether the peer of c closed or reset the connection. It never
// blocks and never consumes data: the look itself is the platform's (socketGone, in
// peek_unix.go and peek_windows.go).
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
	// and the closed descriptor or handle is never touched.
	_ = raw.Read(func(s uintptr) bool {
		gone = socketGone(s)
		return true
	})
	return gone
}
