package server

import "syscall"

// uvEINVAL is libuv's UV_EINVAL on Windows (uv/errno.h), as Node reports it there.
const uvEINVAL = -4071

// uvErrors maps the Windows errors a bind or listen can fail with to the code and errno
// Node's net module reports for them on Windows: libuv translates Winsock errors to its
// own UV_E* numbers there (WSAEADDRINUSE 10048 becomes EADDRINUSE, -4091).
var uvErrors = map[syscall.Errno]struct {
	code  string
	errno int
}{
	10048: {"EADDRINUSE", -4091},    // WSAEADDRINUSE
	10013: {"EACCES", -4092},        // WSAEACCES
	5:     {"EACCES", -4092},        // ERROR_ACCESS_DENIED
	10049: {"EADDRNOTAVAIL", -4090}, // WSAEADDRNOTAVAIL
	10047: {"EAFNOSUPPORT", -4089},  // WSAEAFNOSUPPORT
	10022: {"EINVAL", uvEINVAL},     // WSAEINVAL
	10024: {"EMFILE", -4066},        // WSAEMFILE
	10055: {"ENOBUFS", -4060},       // WSAENOBUFS
	10054: {"ECONNRESET", -4077},    // WSAECONNRESET
	10045: {"ENOTSUP", -4049},       // WSAEOPNOTSUPP
}

// errnoCode is the code and errno Node reports on Windows for a system error; an error
// libuv does not map is UNKNOWN (UV_UNKNOWN, -4094), as in Node.
func errnoCode(errno syscall.Errno) (string, int) {
	if e, ok := uvErrors[errno]; ok {
		return e.code, e.errno
	}
	return "UNKNOWN", -4094
}
