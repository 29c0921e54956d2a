// Package bridge carries calls from fasthttp's goroutines to the JavaScript thread and
// their answers back, in batches.
//
// A handler goroutine queues its call and waits. The first call queued while JavaScript
// is not already scheduled to drain triggers one wake-up (Notify); JavaScript then
// drains every queued call in one or a few Drain calls, runs the handlers, and hands the
// answers back in batches to Complete. So the cost of crossing threads is paid per
// batch, not per request.
//
// The wire format of both directions is fixed here and in index.js; both ship together.
//
// Drain records (little-endian), one per call:
//
//	u32 id | u32 slot | u8 kind | u8 flags (bit 0: has input) | u16 0 | u32 n | n bytes of input JSON
//
// Complete records:
//
//	u32 id | u8 status | 3 bytes 0 | u32 n | n bytes
//
// status 0: bytes are the result's JSON; 1: no result; 2: bytes are an error message
// (answered 500 INTERNAL_ERROR).
package bridge

import (
	"encoding/binary"
	"errors"
	"sync"

	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/server"
)

// Sizes of the record headers.
const (
	DrainHeader    = 16
	CompleteHeader = 12
)

// Complete statuses.
const (
	StatusResult   = 0
	StatusNoResult = 1
	StatusError    = 2
)

// ErrCorrupt is returned by Complete for a batch that does not parse. It means index.js
// and this package disagree: a bug, never user input.
var ErrCorrupt = errors.New("bridge: corrupt completion batch")

// Bridge implements server.Invoker for handlers that run on another thread.
type Bridge struct {
	// notify wakes the JavaScript thread. It is called without any lock held, at most
	// once until the next Drain empties the queue.
	notify func()

	mu        sync.Mutex
	queue     []entry // calls JavaScript has not drained yet, from head on
	head      int
	pending   map[uint32]*waiter // every call not yet answered, drained or not
	nextID    uint32
	scheduled bool // a wake-up was sent and the queue has not been emptied since
	aborted   bool
	abortCode envelope.Code
	abortMsg  string
}

type entry struct {
	id uint32
	w  *waiter
}

type waiter struct {
	call *server.Call
	done chan struct{} // receives one value when the call has its answer
}

var waiterPool = sync.Pool{New: func() any { return &waiter{done: make(chan struct{}, 1)} }}

// New returns a bridge that wakes JavaScript with notify.
func New(notify func()) *Bridge {
	return &Bridge{notify: notify, pending: make(map[uint32]*waiter)}
}

// Invoke implements server.Invoker: it queues c for JavaScript and waits for its answer.
func (b *Bridge) Invoke(c *server.Call) {
	w := waiterPool.Get().(*waiter)
	w.call = c
	b.mu.Lock()
	if b.aborted {
		code, msg := b.abortCode, b.abortMsg
		b.mu.Unlock()
		c.SetErrorString(code, msg)
		w.call = nil
		waiterPool.Put(w)
		return
	}
	id := b.newID()
	b.pending[id] = w
	b.queue = append(b.queue, entry{id, w})
	wake := !b.scheduled
	b.scheduled = true
	b.mu.Unlock()
	if wake {
		b.notify()
	}
	<-w.done
	w.call = nil
	waiterPool.Put(w)
}

// newID returns an id not in use. Called with mu held.
func (b *Bridge) newID() uint32 {
	for {
		b.nextID++
		if _, busy := b.pending[b.nextID]; !busy {
			return b.nextID
		}
	}
}

// Drain writes as many queued calls as fit into buf and returns the bytes written. When
// the queue is not empty but its first call does not fit, it writes nothing and returns
// need, the size buf must have. n == 0 && need == 0 means the queue is empty, and the
// next queued call will notify again.
func (b *Bridge) Drain(buf []byte) (n, need int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.head < len(b.queue) {
		e := b.queue[b.head]
		if b.pending[e.id] != e.w { // answered while queued (aborted): skip
			b.head++
			continue
		}
		c := e.w.call
		size := DrainHeader + len(c.Input)
		if n+size > len(buf) {
			if n == 0 {
				need = size
			}
			return n, need
		}
		rec := buf[n : n+size]
		binary.LittleEndian.PutUint32(rec[0:], e.id)
		binary.LittleEndian.PutUint32(rec[4:], uint32(c.Slot))
		rec[8] = byte(c.Kind)
		rec[9] = 0
		if c.Input != nil {
			rec[9] = 1
		}
		rec[10], rec[11] = 0, 0
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(c.Input)))
		copy(rec[DrainHeader:], c.Input)
		n += size
		b.queue[b.head] = entry{} // drop the reference for the GC
		b.head++
	}
	b.queue, b.head = b.queue[:0], 0
	b.scheduled = false
	return n, 0
}

// Complete applies a batch of answers. Answers for calls that are no longer pending
// (aborted, or an id JavaScript answered twice) are ignored.
func (b *Bridge) Complete(batch []byte) error {
	for len(batch) > 0 {
		if len(batch) < CompleteHeader {
			return ErrCorrupt
		}
		id := binary.LittleEndian.Uint32(batch[0:])
		status := batch[4]
		size := int(binary.LittleEndian.Uint32(batch[8:]))
		if size > len(batch)-CompleteHeader {
			return ErrCorrupt
		}
		data := batch[CompleteHeader : CompleteHeader+size]
		batch = batch[CompleteHeader+size:]

		b.mu.Lock()
		w := b.pending[id]
		delete(b.pending, id)
		b.mu.Unlock()
		if w == nil {
			continue
		}
		switch status {
		case StatusResult:
			w.call.SetResult(data)
		case StatusNoResult:
			w.call.SetNoResult()
		default:
			w.call.SetError(envelope.Internal, data)
		}
		w.done <- struct{}{}
	}
	return nil
}

// Abort answers every pending call with code and message, and every later call at once
// with the same. Used when JavaScript can no longer answer (its environment is being
// torn down).
func (b *Bridge) Abort(code envelope.Code, message string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.aborted, b.abortCode, b.abortMsg = true, code, message
	for id, w := range b.pending {
		delete(b.pending, id)
		w.call.SetErrorString(code, message)
		w.done <- struct{}{}
	}
	clear(b.queue)
	b.queue, b.head = b.queue[:0], 0
}

// Pending returns the number of calls waiting for an answer from JavaScript.
func (b *Bridge) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}
