package server

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Lingering close.
//
// When the server answers early and closes, as it does for 413 (body too large) or a
// malformed request, the client may still be sending. Closing a socket with unread
// input makes the kernel send RST, and the client then loses the response it was about
// to read: browsers report a network error instead of the 413. So, as nginx and Apache
// do, a closing connection first half-closes (FIN after the response), drains what the
// client still sends for a short while, then closes. The drain runs in its own
// goroutine: Close returns at once.
const (
	lingerTimeout = 2 * time.Second
	lingerMaxRead = 64 << 20
)

// lingerConn is every accepted connection: it lingers on close, and carries the state
// fasthttp last reported for it (see connSet).
type lingerConn struct {
	*net.TCPConn
	once  sync.Once
	set   *connSet
	state atomic.Int32 // a fasthttp.ConnState
}

// abort closes at once, without lingering (closeAllConnections, close() past its
// deadline).
func (c *lingerConn) abort() {
	c.once.Do(func() { _ = c.TCPConn.Close() })
}

func (c *lingerConn) Close() error {
	c.once.Do(func() {
		if err := c.TCPConn.CloseWrite(); err != nil {
			_ = c.TCPConn.Close()
			return
		}
		go func() {
			defer func() { _ = recover() }()
			_ = c.TCPConn.SetReadDeadline(time.Now().Add(lingerTimeout))
			_, _ = io.CopyN(io.Discard, c.TCPConn, lingerMaxRead)
			_ = c.TCPConn.Close()
		}()
	})
	return nil
}
