//go:build !windows

package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort sets SO_REUSEPORT on a listening socket before it binds, so that several
// processes can listen on one port. Linux spreads new connections across them; macOS
// accepts the binds but does not balance. (The threads of one process never need it:
// they share one listener, see internal/host/group.go.)
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// noteReusePort adds nothing on Unix: a refused reusePort bind means what it says.
func noteReusePort(*ListenError) {}
