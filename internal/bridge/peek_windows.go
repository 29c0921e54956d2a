package bridge

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Disconnect detection on Windows. Go's sockets there are in blocking mode (Go drives
// them through an I/O completion port), so a plain recv(MSG_PEEK) would wait for data
// when there is none. WSAPoll with a zero timeout first says whether the socket has
// anything to read (data, the peer's FIN or a reset) or is already broken; only then does
// recv(MSG_PEEK) look, and it cannot block: raw.Read holds the socket's read lock, so no
// read of Go's can take the bytes in between.
var (
	ws2     = windows.NewLazySystemDLL("ws2_32.dll")
	wsaPoll = ws2.NewProc("WSAPoll")
	wsRecv  = ws2.NewProc("recv")
)

// WSAPoll's flags (winsock2.h). Only POLLRDNORM may be asked for; the others are reported.
const (
	pollRdNorm = 0x0100
	pollErr    = 0x0001
	pollHup    = 0x0002
	pollNval   = 0x0004
)

// wsaPollFd is WSAPOLLFD.
type wsaPollFd struct {
	fd      uintptr
	events  int16
	revents int16
}

// socketGone: see the note above.
func socketGone(s uintptr) bool {
	pfd := wsaPollFd{fd: s, events: pollRdNorm}
	r, _, _ := wsaPoll.Call(uintptr(unsafe.Pointer(&pfd)), 1, 0)
	switch {
	case int32(r) <= 0: // nothing to read, or WSAPoll failed: no evidence either way
		return false
	case pfd.revents&(pollErr|pollHup|pollNval) != 0:
		return true
	case pfd.revents&pollRdNorm == 0:
		return false
	}
	var buf [1]byte
	n, _, err := wsRecv.Call(s, uintptr(unsafe.Pointer(&buf[0])), 1, windows.MSG_PEEK)
	switch int32(n) {
	case 0:
		return true // the peer's FIN, nothing unread before it
	case -1:
		errno, _ := err.(syscall.Errno)
		return errno != windows.WSAEWOULDBLOCK && errno != windows.WSAEINTR // WSAECONNRESET and friends
	}
	return false // bytes wait unread: the peer is seen gone once they are read
}
