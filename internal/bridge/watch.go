package bridge

import (
	"net"
	"time"

	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/wire"
)

// The watcher: one goroutine per port, ticking every WatchInterval.
//
// Watchdog. If records are queued and JavaScript made no exchange during a whole tick,
// the wake-up is sent again. Normally a wake-up leads to an exchange within
// microseconds; this only matters when something dropped one (a JavaScript exception
// before the exchange, a bug), and turns what would be a stall into a delay of one tick.
// A thread busy in a long synchronous handler gets at most one extra wake-up per tick,
// which costs it one empty exchange.
//
// Disconnects. fasthttp tells a handler nothing when its client goes away
// (valyala/fasthttp#468), and the connection cannot be read while the handler runs
// without stealing pipelined requests. So the watcher peeks (MSG_PEEK, non-blocking) at
// the socket of each call still waiting: end-of-file or a reset means the client is
// gone, the call stops waiting and its ctx.signal fires. Cost: one recv per waiting call
// per tick, on this goroutine; nothing on the request path. A client that half-closes
// its side after sending (shutdown(SHUT_WR)) while still reading is taken as gone; HTTP
// clients do not do this in practice. When the peek finds bytes (an upload not read
// yet: the handler reads slowly, or not yet), the peer may still be gone: on Linux the
// socket's TCP state tells (CLOSE_WAIT: the peer sent its FIN).

type watched struct {
	w      *waiter
	id     uint32
	conn   net.Conn
	stream *respStream
}

func (p *Port) watch() {
	defer func() { _ = recover() }() // never let a panic here reach the host process
	t := time.NewTicker(p.opts.WatchInterval)
	defer t.Stop()
	var snap []watched
	var seen, seenTakes uint64
	for {
		select {
		case <-p.stopWatch:
			return
		case <-t.C:
		}
		snap = snap[:0]
		p.mu.Lock()
		stalled := p.state != portGone && p.hasWork() && p.exchanges == seen
		seen = p.exchanges
		// Access records no exchange took for a whole tick: an idle thread is woken for
		// them (under load, exchanges take them as they happen).
		if p.log.waiting() {
			if takes := p.log.takes.Load(); takes == seenTakes && p.state == portOpen {
				stalled = true
			} else {
				seenTakes = takes
			}
		}
		if stalled {
			p.inflight = true
		}
		for _, w := range p.slots {
			switch {
			case w == nil:
			case w.stream != nil:
				if w.stream.conn != nil {
					snap = append(snap, watched{w, w.id, w.stream.conn, w.stream})
				}
			case w.call != nil && w.call.Conn != nil:
				snap = append(snap, watched{w, w.id, w.call.Conn, nil})
			}
		}
		p.mu.Unlock()
		if stalled {
			p.wake()
		}
		for _, s := range snap {
			if s.stream != nil {
				if peerGone(s.conn) {
					// Abort only: count the disconnect, tell JavaScript, unblock the writer.
					// The ring and the slot stay the stream's until fasthttp closes it.
					s.stream.abort(wire.AbortDisconnect)
				}
				continue
			}
			if peerGone(s.conn) && p.expire(s.w, s.id, wire.AbortDisconnect) {
				s.w.call.Fail(protocol.ClientGone, "")
				s.w.done <- struct{}{} // the handler goroutine returns; nobody reads the answer
			}
		}
	}
}

// peerGone (peek_unix.go, peek_windows.go) reports whether the peer of a connection
// closed or reset it, without blocking or consuming data.
