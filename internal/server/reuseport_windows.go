package server

import "syscall"

// reusePort does nothing on Windows. Windows has no SO_REUSEPORT: the threads of one
// process share one listener anyway (internal/host/group.go joins them in-process), and
// another process cannot bind the same port. SO_REUSEADDR is deliberately not set: on
// Windows it lets any other socket take over the port, not share it.
func reusePort(_, _ string, _ syscall.RawConn) error { return nil }

// noteReusePort says, on a refused reusePort bind, what Windows allows: a port is
// shared by the threads of one process, not by processes.
func noteReusePort(e *ListenError) {
	if e.Code == "EADDRINUSE" {
		e.Message += " (on Windows, reusePort shares a port between the threads of one process only; another process cannot listen on it)"
	}
}
