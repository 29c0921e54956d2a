// Package bridge carries calls from fasthttp's goroutines to the JavaScript thread and
// their answers back, in batches.
//
// A handler goroutine queues its call and waits. The first call queued while JavaScript
// is not already scheduled to drain triggers one wake-up (Notify); JavaScript then
// drains every queued call in one or a few Drain calls, runs the handlers, and hands the
// answers back in batches to Complete. So the cost of crossing threads is paid per
// batch, not per request.
//
// The wire format of both directions is fixed here and in lib/dispatcher.js; both ship
// together.
//
// Drain records (little-endian), one per call:
//
//	u32 id | u32 slot | u8 kind | u8 flags | u16 0 | u32 n | n bytes
//
// kind 1 (task) or 2 (event): flags bit 0 says whether the n bytes of input JSON are
// present. kind 4 (abort): the call id stopped waiting for its answer (flags: 1 timed
// out, 2 client disconnected); its ctx.signal should fire. n is 0.
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
	"strconv"
	"sync"
	"sync/atomic"
	"time"

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

// KindAbort marks a drain record that cancels a call; the reasons go in its flags.
const (
	KindAbort        = 4
	AbortTimeout     = 1
	AbortDisconnect  = 2
	watchIntervalDef = 250 * time.Millisecond
)

// ErrCorrupt is returned by Complete for a batch that does not parse. It means
// lib/dispatcher.js and this package disagree: a bug, never user input.
var ErrCorrupt = errors.New("bridge: corrupt completion batch")

// Options tune a Bridge. The zero value means: no timeout, no bound, no watching.
type Options struct {
	// Timeout answers 504 TIMEOUT for a call JavaScript has not answered in time.
	Timeout time.Duration
	// MaxPending answers 503 SERVICE_UNAVAILABLE at once when this many calls already
	// wait for JavaScript.
	MaxPending int
	// WatchInterval is how often waiting calls' connections are checked for a client
	// that went away (0: never).
	WatchInterval time.Duration
}

// DefaultWatchInterval is the disconnect check period the addon uses.
const DefaultWatchInterval = watchIntervalDef

// Stats are the bridge's counters.
type Stats struct {
	Timeouts    atomic.Uint64 // calls answered 504
	Rejected    atomic.Uint64 // calls answered 503 because MaxPending was reached
	Disconnects atomic.Uint64 // calls whose client went away while waiting
}

// Bridge implements server.Invoker for handlers that run on another thread.
type Bridge struct {
	// notify wakes the JavaScript thread. It is called without any lock held, at most
	// once until the next Drain empties the queue.
	notify func()
	opts   Options
	stats  Stats

	mu        sync.Mutex
	queue     []entry // calls JavaScript has not drained yet, from head on
	head      int
	aborts    []abortNote        // cancellations JavaScript has not drained yet
	pending   map[uint32]*waiter // every call not yet answered, drained or not
	nextID    uint32
	scheduled bool // a wake-up was sent and the queue has not been emptied since
	aborted   bool
	abortCode envelope.Code
	abortMsg  string

	stopWatch chan struct{}
	stopOnce  sync.Once
}

type entry struct {
	id uint32
	w  *waiter
}

type abortNote struct {
	id     uint32
	reason byte
}

type waiter struct {
	call  *server.Call
	done  chan struct{} // receives one value when the call has its answer
	timer *time.Timer
}

var waiterPool = sync.Pool{New: func() any { return &waiter{done: make(chan struct{}, 1)} }}

// New returns a bridge that wakes JavaScript with notify.
func New(notify func(), opts Options) *Bridge {
	b := &Bridge{notify: notify, opts: opts, pending: make(map[uint32]*waiter), stopWatch: make(chan struct{})}
	if opts.WatchInterval > 0 {
		go b.watch()
	}
	return b
}

// Stats returns the bridge's counters.
func (b *Bridge) Stats() *Stats { return &b.stats }

// Invoke implements server.Invoker: it queues c for JavaScript and waits for its answer.
func (b *Bridge) Invoke(c *server.Call) {
	b.mu.Lock()
	if b.aborted {
		code, msg := b.abortCode, b.abortMsg
		b.mu.Unlock()
		c.SetErrorString(code, msg)
		return
	}
	if b.opts.MaxPending > 0 && len(b.pending) >= b.opts.MaxPending {
		b.mu.Unlock()
		b.stats.Rejected.Add(1)
		c.SetErrorString(envelope.Unavailable, "Too many requests waiting for a handler (maxInFlight="+strconv.Itoa(b.opts.MaxPending)+"); retry later")
		return
	}
	w := waiterPool.Get().(*waiter)
	w.call = c
	id := b.newID()
	b.pending[id] = w
	b.queue = append(b.queue, entry{id, w})
	b.unlockAndWake()
	b.wait(id, w)
	w.call = nil
	waiterPool.Put(w)
}

func (b *Bridge) wait(id uint32, w *waiter) {
	if b.opts.Timeout <= 0 {
		<-w.done
		return
	}
	if w.timer == nil {
		w.timer = time.NewTimer(b.opts.Timeout)
	} else {
		w.timer.Reset(b.opts.Timeout)
	}
	select {
	case <-w.done:
		w.timer.Stop()
	case <-w.timer.C:
		if b.expire(id, w, AbortTimeout) {
			w.call.SetErrorString(envelope.Timeout, "Handler did not settle within taskTimeoutMs ("+strconv.Itoa(int(b.opts.Timeout/time.Millisecond))+" ms)")
			return
		}
		<-w.done // an answer is being applied right now
	}
}

// expire stops waiting for call id: it leaves the pending table (a late answer is then
// dropped) and JavaScript is told, so that ctx.signal fires. It reports false when the
// call was answered first.
func (b *Bridge) expire(id uint32, w *waiter, reason byte) bool {
	b.mu.Lock()
	if b.pending[id] != w {
		b.mu.Unlock()
		return false
	}
	delete(b.pending, id)
	// Counted before JavaScript hears of it, so stats read in an abort listener agree.
	if reason == AbortTimeout {
		b.stats.Timeouts.Add(1)
	} else {
		b.stats.Disconnects.Add(1)
	}
	b.aborts = append(b.aborts, abortNote{id, reason})
	b.unlockAndWake()
	return true
}

// unlockAndWake releases mu after something was queued for JavaScript and wakes it,
// unless a wake-up is already pending (Drain clears that once the queue is empty).
// notify runs without the lock: it may block briefly in N-API's own queue.
func (b *Bridge) unlockAndWake() {
	wake := !b.scheduled
	b.scheduled = true
	b.mu.Unlock()
	if wake {
		b.notify()
	}
}

// newID returns an id not in use. Called with mu held.
func (b *Bridge) newID() uint32 {
	for {
		b.nextID++
		if _, busy := b.pending[b.nextID]; !busy && b.nextID != 0 {
			return b.nextID
		}
	}
}

// Drain writes as many queued calls and cancellations as fit into buf and returns the
// bytes written. When something is queued but its first record does not fit, it writes
// nothing and returns need, the size buf must have. n == 0 && need == 0 means nothing
// is queued, and the next queued call will notify again.
func (b *Bridge) Drain(buf []byte) (n, need int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.aborts) > 0 && n+DrainHeader <= len(buf) {
		a := b.aborts[0]
		writeHeader(buf[n:], a.id, 0, KindAbort, a.reason, 0)
		n += DrainHeader
		b.aborts = b.aborts[1:]
	}
	if len(b.aborts) > 0 {
		return n, 0 // the buffer is full of cancellations: JavaScript drains again
	}
	b.aborts = nil
	for b.head < len(b.queue) {
		e := b.queue[b.head]
		if b.pending[e.id] != e.w { // answered or expired while queued: skip
			b.queue[b.head] = entry{}
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
		var flags byte
		if c.Input != nil {
			flags = 1
		}
		writeHeader(buf[n:], e.id, uint32(c.Slot), byte(c.Kind), flags, uint32(len(c.Input)))
		copy(buf[n+DrainHeader:], c.Input)
		n += size
		b.queue[b.head] = entry{} // drop the reference for the GC
		b.head++
	}
	b.queue, b.head = b.queue[:0], 0
	b.scheduled = false
	return n, 0
}

func writeHeader(rec []byte, id, slot uint32, kind, flags byte, size uint32) {
	binary.LittleEndian.PutUint32(rec[0:], id)
	binary.LittleEndian.PutUint32(rec[4:], slot)
	rec[8], rec[9], rec[10], rec[11] = kind, flags, 0, 0
	binary.LittleEndian.PutUint32(rec[12:], size)
}

// Complete applies a batch of answers. Answers for calls that are no longer pending
// (expired, aborted, or an id answered twice) are ignored.
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

// AppendHeaders appends the request headers of pending call id to dst as a JSON object
// with lower-case names (repeated headers joined with ", "), and reports whether the
// call was still pending. The headers stay valid because the call's goroutine cannot
// return while the call is pending and b.mu is held.
func (b *Bridge) AppendHeaders(dst []byte, id uint32) ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.pending[id]
	if w == nil || w.call.Header == nil {
		return dst, false
	}
	return appendHeaderObject(dst, w.call.Header), true
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
	b.queue, b.head, b.aborts = b.queue[:0], 0, nil
}

// Close stops the disconnect watcher. Pending calls are not affected.
func (b *Bridge) Close() { b.stopOnce.Do(func() { close(b.stopWatch) }) }

// Pending returns the number of calls waiting for an answer from JavaScript.
func (b *Bridge) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}
