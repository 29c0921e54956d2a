//go:build unix

package main

import "syscall"

// isSocket reports whether fd is an open socket (the addon's), not a terminal or nothing.
func isSocket(fd int) bool {
	var st syscall.Stat_t
	return syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFSOCK
}
