//go:build !windows

package server

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// uvEINVAL is EINVAL as Node reports it here: libuv uses the negated system errno on Unix.
const uvEINVAL = -int(syscall.EINVAL)

// errnoCode is the code, errno and message Node's net module gives for a system error:
// the errno name, the negated number and the system's description.
func errnoCode(errno syscall.Errno) (string, int, string) {
	name := unix.ErrnoName(errno)
	if name == "" {
		name = "E" + errno.Error()
	}
	return name, -int(errno), errno.Error()
}
