package server

import (
	"errors"
	"net"
	"syscall"
)

// ListenError is a failure to bind, shaped like the errors of Node's net module so
// that JavaScript can throw one: Code is the errno name (EADDRINUSE, EACCES, ...), Errno
// the negative errno number as libuv reports it (on Windows, libuv's own UV_E* numbers),
// Syscall "listen" (or "getaddrinfo" when the host does not resolve), Message the
// system's description.
type ListenError struct {
	Code    string `json:"code"`
	Errno   int    `json:"errno"`
	Syscall string `json:"syscall"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

func (e *ListenError) Error() string { return e.Syscall + " " + e.Code + ": " + e.Message }
func (e *ListenError) Unwrap() error { return e.Err }

func newListenError(err error) *ListenError {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		code, num, message := errnoCode(errno) // errno_unix.go, errno_windows.go
		return &ListenError{Code: code, Errno: num, Syscall: "listen", Message: message, Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &ListenError{Code: "ENOTFOUND", Errno: -3008, Syscall: "getaddrinfo", Message: dnsErr.Err, Err: err}
	}
	var addrErr *net.AddrError
	if errors.As(err, &addrErr) {
		return &ListenError{Code: "EINVAL", Errno: uvEINVAL, Syscall: "listen", Message: addrErr.Err, Err: err}
	}
	return &ListenError{Code: "EINVAL", Errno: uvEINVAL, Syscall: "listen", Message: err.Error(), Err: err}
}
