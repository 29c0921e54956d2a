package bridge

import (
	"sync"
	"sync/atomic"

	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/server"
)

// Pool is the server.Invoker of a listener: it hands each call to one of the ports
// (JavaScript threads) that registered its id, the one with the fewest calls queued or
// running, and checks to the least loaded port of all. A listener without reusePort has
// a pool of one port.
type Pool struct {
	mu          sync.Mutex              // serialises Add and Remove
	ports       atomic.Pointer[[]*Port] // by port index; nil entries are ports that left
	lastFailure atomic.Uint32           // the protocol.Failure of the last port removed
	stats       Stats
	log         accessLog // records for onRequests, when the server makes them (see Record)
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	pl := &Pool{}
	pl.ports.Store(&[]*Port{})
	return pl
}

// Stats returns the counters shared by the pool's ports.
func (pl *Pool) Stats() *Stats { return &pl.stats }

// Add creates a port in the pool and returns it with its index (the registry's
// Target.Port).
func (pl *Pool) Add(wake func(), opts Options) (*Port, int32) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	p := newPort(wake, opts, &pl.stats, &pl.log)
	old := *pl.ports.Load()
	next := append(old[:len(old):len(old)], p)
	pl.ports.Store(&next)
	return p, int32(len(next) - 1)
}

// Remove forgets port i, which has stopped taking calls (Leave, Shutdown or Deadline).
func (pl *Pool) Remove(i int32) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	old := *pl.ports.Load()
	if p := old[i]; p != nil && !p.Open() {
		pl.lastFailure.Store(p.failure.Load())
	}
	next := append([]*Port(nil), old...)
	next[i] = nil
	pl.ports.Store(&next)
}

// Invoke implements server.Invoker. A port that stops taking calls before JavaScript
// took this one hands it back, and it goes to the next best port; with none left, the
// call fails as the last port that closed says (503).
func (pl *Pool) Invoke(c *server.Call) {
	for {
		ports := *pl.ports.Load()
		best, slot := pick(ports, c)
		if best == nil {
			c.Fail(pl.closedFailure(ports), "")
			return
		}
		c.Slot = slot
		if !best.Invoke(c) {
			return
		}
	}
}

// pick chooses the open port with the fewest calls queued or running among those that
// registered the call's id (any port for a check).
func pick(ports []*Port, c *server.Call) (*Port, int32) {
	var best *Port
	var slot int32
	if c.Op == server.OpCheck {
		for _, p := range ports {
			if p != nil && p.Open() && (best == nil || p.Load() < best.Load()) {
				best = p
			}
		}
		return best, 0
	}
	for _, t := range c.Entry.Targets {
		if int(t.Port) >= len(ports) {
			continue
		}
		if p := ports[t.Port]; p != nil && p.Open() && (best == nil || p.Load() < best.Load()) {
			best, slot = p, t.Slot
		}
	}
	return best, slot
}

// closedFailure is what a call gets when no port takes it: the failure of a port that
// stopped (ClosedBeforeAnswer after a close deadline, else ShuttingDown).
func (pl *Pool) closedFailure(ports []*Port) protocol.Failure {
	f := protocol.ShuttingDown
	if pl.lastFailure.Load() == uint32(protocol.ClosedBeforeAnswer) {
		f = protocol.ClosedBeforeAnswer
	}
	for _, p := range ports {
		if p != nil && !p.Open() && protocol.Failure(p.failure.Load()) == protocol.ClosedBeforeAnswer {
			f = protocol.ClosedBeforeAnswer
		}
	}
	return f
}

// Ports returns the number of ports taking calls.
func (pl *Pool) Ports() int {
	n := 0
	for _, p := range *pl.ports.Load() {
		if p != nil && p.Open() {
			n++
		}
	}
	return n
}

// Pending returns the calls waiting for JavaScript on every port.
func (pl *Pool) Pending() int {
	n := 0
	for _, p := range *pl.ports.Load() {
		if p != nil {
			n += p.Pending()
		}
	}
	return n
}

// Notify queues a notice on the least loaded port.
func (pl *Pool) Notify(record []byte) {
	var best *Port
	for _, p := range *pl.ports.Load() {
		if p != nil && p.Open() && (best == nil || p.Load() < best.Load()) {
			best = p
		}
	}
	if best != nil {
		best.Notify(record)
	}
}

// Deadline answers every pending call of every port with 503 (see Port.Deadline).
func (pl *Pool) Deadline() {
	for _, p := range *pl.ports.Load() {
		if p != nil {
			p.Deadline()
		}
	}
}
