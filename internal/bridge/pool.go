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
	mu    sync.Mutex              // serialises Add and Remove
	ports atomic.Pointer[[]*Port] // by port index; nil entries are ports that left
	stats Stats
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
	p := NewPort(wake, opts, &pl.stats)
	old := *pl.ports.Load()
	next := append(old[:len(old):len(old)], p)
	pl.ports.Store(&next)
	return p, int32(len(next) - 1)
}

// Remove takes port i out of the pool: no new call is handed to it.
func (pl *Pool) Remove(i int32) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	old := *pl.ports.Load()
	next := append([]*Port(nil), old...)
	next[i] = nil
	pl.ports.Store(&next)
}

// Invoke implements server.Invoker.
func (pl *Pool) Invoke(c *server.Call) {
	ports := *pl.ports.Load()
	var best *Port
	if c.Op == server.OpCheck {
		for _, p := range ports {
			if p != nil && (best == nil || p.Load() < best.Load()) {
				best = p
			}
		}
	} else {
		for _, t := range c.Entry.Targets {
			if int(t.Port) >= len(ports) {
				continue
			}
			if p := ports[t.Port]; p != nil && (best == nil || p.Load() < best.Load()) {
				best, c.Slot = p, t.Slot
			}
		}
	}
	if best == nil {
		c.Fail(protocol.ShuttingDown, "")
		return
	}
	best.Invoke(c)
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
		if p != nil && (best == nil || p.Load() < best.Load()) {
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
