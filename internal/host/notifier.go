package host

import "sync"

// notifier is the one way a server reaches its JavaScript thread, and the lifetime
// rules of abi.h written as code: it signals only while armed (from a successful listen
// on), the closed signal is its last, and after detach nothing is sent. The send
// function (in the library, a call into C holding the addon's pointer; in the server
// program, a write to the signal socket) is forgotten as soon as it may no longer be
// used.
type notifier struct {
	mu    sync.RWMutex // held for reading around every signal, for writing by changes
	state notifierState
	send  func(what int32)
}

type notifierState uint8

const (
	unarmed  notifierState = iota // created, or listen failed: nothing to call
	armed                         // listening: wake-ups are delivered
	closed                        // the closed signal was sent
	detached                      // the environment is going away
)

// arm starts delivering signals to send. Only an unarmed notifier arms.
func (n *notifier) arm(send func(what int32)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == unarmed {
		n.state, n.send = armed, send
	}
}

// signal sends what if armed. send never blocks for long: in the library it only queues
// a call on a threadsafe function; in the server program it writes 16 bytes to a socket
// the addon reads all the time.
func (n *notifier) signal(what int32) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if n.state == armed {
		n.send(what)
	}
}

// close sends closedSignal if armed, and disarms for good: the addon frees the
// callback's context once that signal is handled.
func (n *notifier) close(closedSignal int32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.state == armed {
		n.send(closedSignal)
	}
	if n.state != detached {
		n.state = closed
	}
	n.send = nil
}

// detach returns once no signal is being sent, and makes sure none ever is again.
func (n *notifier) detach() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state, n.send = detached, nil
}
