package server

import "syscall"

// uvEINVAL is libuv's UV_EINVAL on Windows (uv/errno.h), as Node reports it there.
const uvEINVAL = -4071

// uvErrors maps the Windows errors a bind or listen can fail with to the code, errno and
// message Node's net module reports for them on Windows: libuv translates Winsock errors
// to its own UV_E* numbers there (WSAEADDRINUSE 10048 becomes EADDRINUSE, -4091), and
// the message is libuv's uv_strerror text, the same on every system.
var uvErrors = map[syscall.Errno]struct {
	code, message string
	errno         int
}{
	10048: {"EADDRINUSE", "address already in use", -4091},         // WSAEADDRINUSE
	10013: {"EACCES", "permission denied", -4092},                  // WSAEACCES
	5:     {"EACCES", "permission denied", -4092},                  // ERROR_ACCESS_DENIED
	10049: {"EADDRNOTAVAIL", "address not available", -4090},       // WSAEADDRNOTAVAIL
	10047: {"EAFNOSUPPORT", "address family not supported", -4089}, // WSAEAFNOSUPPORT
	10022: {"EINVAL", "invalid argument", uvEINVAL},                // WSAEINVAL
	10024: {"EMFILE", "too many open files", -4066},                // WSAEMFILE
	10055: {"ENOBUFS", "no buffer space available", -4060},         // WSAENOBUFS
	10054: {"ECONNRESET", "connection reset by peer", -4077},       // WSAECONNRESET
	10045: {"ENOTSUP", "operation not supported on socket", -4049}, // WSAEOPNOTSUPP
}

// errnoCode is the code, errno and message Node reports on Windows for a system error; an
// error libuv does not map is UNKNOWN (UV_UNKNOWN, -4094, "unknown error"), as in Node.
func errnoCode(errno syscall.Errno) (string, int, string) {
	if e, ok := uvErrors[errno]; ok {
		return e.code, e.errno, e.message
	}
	return "UNKNOWN", -4094, "unknown error"
}
