package bridge

import (
	"syscall"
	"unsafe"
)

// tcpCloseWait is TCP_CLOSE_WAIT (include/net/tcp_states.h): the peer sent its FIN.
const tcpCloseWait = 8

// peerFinished reports whether the peer of socket fd sent its FIN, whatever bytes of it
// are still unread: the first byte of struct tcp_info is the connection's state.
func peerFinished(fd int) bool {
	var info [8]byte
	size := uint32(len(info))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	return errno == 0 && size >= 1 && info[0] == tcpCloseWait
}
