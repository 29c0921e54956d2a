package server

import (
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/httpguard"
)

// connSet tracks the connections of a server from accept until fasthttp is done with
// them (ConnState StateClosed), and the state fasthttp last reported for each, for
// CloseIdleConnections, CloseAllConnections, a close() that reaches its deadline and the
// connections counter. The per-request cost is one atomic store.
type connSet struct {
	mu    sync.Mutex
	conns map[*lingerConn]struct{}
}

func (cs *connSet) add(c *lingerConn) {
	cs.mu.Lock()
	if cs.conns == nil {
		cs.conns = make(map[*lingerConn]struct{})
	}
	cs.conns[c] = struct{}{}
	cs.mu.Unlock()
}

func (cs *connSet) remove(c *lingerConn) {
	cs.mu.Lock()
	delete(cs.conns, c)
	cs.mu.Unlock()
}

// track is fasthttp's ConnState hook. fasthttp sees the guard's connection, which
// wraps ours.
func (cs *connSet) track(c net.Conn, state fasthttp.ConnState) {
	if g, ok := c.(*httpguard.Conn); ok {
		c = g.Conn
	}
	lc, ok := c.(*lingerConn)
	if !ok {
		return
	}
	lc.state.Store(int32(state))
	if state == fasthttp.StateClosed || state == fasthttp.StateHijacked {
		cs.remove(lc)
	}
}

// count returns the number of connections fasthttp is serving.
func (cs *connSet) count() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.conns)
}

func (cs *connSet) snapshot() []*lingerConn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make([]*lingerConn, 0, len(cs.conns))
	for c := range cs.conns {
		out = append(out, c)
	}
	return out
}

// closeAll closes every connection (idleOnly: only those not in a request) at once,
// without lingering.
func (cs *connSet) closeAll(idleOnly bool) {
	for _, c := range cs.snapshot() {
		if idleOnly {
			switch fasthttp.ConnState(c.state.Load()) {
			case fasthttp.StateNew, fasthttp.StateIdle:
			default:
				continue
			}
		}
		c.abort()
	}
}

// settle waits, at most limit, until no connection is in the middle of a request.
func (cs *connSet) settle(limit time.Duration) {
	deadline := time.Now().Add(limit)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for time.Now().Before(deadline) {
		busy := false
		for _, c := range cs.snapshot() {
			if fasthttp.ConnState(c.state.Load()) == fasthttp.StateActive {
				busy = true
				break
			}
		}
		if !busy {
			return
		}
		<-t.C
	}
}

// trackingListener wraps accepted connections in lingerConns registered in a connSet.
type trackingListener struct {
	net.Listener
	set *connSet
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	lc := &lingerConn{TCPConn: tc, set: l.set}
	l.set.add(lc)
	return lc, nil
}
