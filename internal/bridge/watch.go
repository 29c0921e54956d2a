package bridge

import (
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/bluelibs/runner-native/internal/envelope"
)

// Disconnect detection.
//
// fasthttp tells a handler nothing when its client goes away (valyala/fasthttp#468),
// and the connection cannot be read while the handler runs without stealing pipelined
// requests. So every WatchInterval the watcher peeks (MSG_PEEK, non-blocking) at the
// socket of each call still waiting for JavaScript: end-of-file or a reset means the
// client is gone, and the call stops waiting and fires its ctx.signal.
//
// Cost: one recv syscall per waiting call per interval, on one goroutine; nothing on
// the request path. A call is noticed within one interval. A client that half-closes
// its side after sending (shutdown(SHUT_WR)) while still reading is taken as gone;
// HTTP clients do not do this in practice.

type watched struct {
	id   uint32
	w    *waiter
	conn net.Conn
}

func (b *Bridge) watch() {
	defer func() { _ = recover() }() // never let a panic here reach the host process
	t := time.NewTicker(b.opts.WatchInterval)
	defer t.Stop()
	var snap []watched
	for {
		select {
		case <-b.stopWatch:
			return
		case <-t.C:
		}
		snap = snap[:0]
		b.mu.Lock()
		for id, w := range b.pending {
			if w.call.Conn != nil {
				snap = append(snap, watched{id, w, w.call.Conn})
			}
		}
		b.mu.Unlock()
		for _, s := range snap {
			if peerGone(s.conn) && b.expire(s.id, s.w, AbortDisconnect) {
				s.w.call.SetErrorString(envelope.BadRequest, "Client disconnected")
				s.w.done <- struct{}{} // the handler goroutine returns; nobody reads the answer
			}
		}
	}
}

// peerGone reports whether the peer of c closed or reset the connection. It never
// blocks and never consumes data.
func peerGone(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	// raw.Read fails once the connection is closed by us: then it is not a disconnect,
	// and the closed descriptor number is never touched.
	_ = raw.Read(func(fd uintptr) bool {
		var buf [1]byte
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == nil:
			gone = n == 0
		case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		default:
			gone = true // ECONNRESET and friends
		}
		return true
	})
	return gone
}
