// Package bridge carries calls from fasthttp's goroutines to JavaScript threads and
// their answers back, in batches (the byte format is internal/wire's).
//
// A Port is the bridge to one JavaScript thread. A handler goroutine queues its call on
// a port and waits. Go wakes the thread (SignalWake) only when work is queued and no
// wake-up is already on its way; the thread then calls Exchange, which hands Go the
// answers it has and takes every queued record back in the same crossing. So a burst of
// calls costs one wake-up and a few exchanges, not one of each per call.
//
// No stall is possible by construction: whenever work is queued, a wake-up is in flight
// (set when work is queued, re-armed at the end of every exchange that leaves work
// behind), and a watchdog re-sends it if no exchange happened for a whole tick, so even
// a JavaScript thread that drops a wake-up is woken again.
package bridge

import (
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Options tune a Port. The zero value means: no timeout, no bound, no watching.
type Options struct {
	// Timeout answers 504 for a call JavaScript has not answered in time (taskTimeoutMs).
	Timeout time.Duration
	// MaxPending answers 503 at once when this many calls already wait (maxInFlight).
	MaxPending int
	// WatchInterval is the period of the watchdog and of the disconnect checks (0: none).
	WatchInterval time.Duration
}

// DefaultWatchInterval is the watchdog and disconnect check period the addon uses.
const DefaultWatchInterval = 250 * time.Millisecond

// Stats are counters shared by the ports of a pool.
type Stats struct {
	Timeouts         atomic.Uint64 // calls answered 504
	Rejected         atomic.Uint64 // calls answered 503 because MaxPending was reached
	Disconnects      atomic.Uint64 // calls whose client went away while waiting
	ClosedByDeadline atomic.Uint64 // calls answered 503 when close() reached its deadline
	StreamErrors     atomic.Uint64 // answer streams that failed after their first byte (cut)
	RecordsDropped   atomic.Uint64 // access records dropped because too many waited (see accessLog)
}

const (
	slotBits = 24
	slotMask = 1<<slotBits - 1
)

type portState uint8

const (
	portOpen    portState = iota
	portLeaving           // its thread is closing while others serve: no new calls
	portClosing           // close() reached its deadline: new calls fail
	portGone              // the JavaScript environment went away
)

// Port is the bridge to one JavaScript thread.
type Port struct {
	wake  func() // sends SignalWake; never blocks, called without p.mu held
	opts  Options
	stats *Stats
	log   *accessLog // its pool's access records (nil outside a pool): any port takes them

	mu        sync.Mutex
	queue     []entry // records JavaScript has not taken yet, from head on
	head      int
	aborts    []abortNote
	credits   []creditNote
	notice    []byte    // the one notice record waiting for JavaScript, if hasNotice (see Notify)
	bodies    [][]byte  // KindBody records, after the calls they belong to
	slots     []*waiter // every call not answered yet, by slot
	gens      []uint8   // generation of each slot, the top byte of call ids
	free      []uint32
	pending   int
	inflight  bool   // a wake-up was sent and no wake-driven exchange consumed it
	exchanges uint64 // for the watchdog
	state     portState

	load      atomic.Int32 // calls queued or running here, for balancing
	open      atomic.Bool  // takes new calls (state == portOpen), read without p.mu
	calls     atomic.Uint64
	failure   atomic.Uint32 // the protocol.Failure new calls get once it is not open
	stopWatch chan struct{}
	stopOnce  sync.Once

	// A flood of refused requests costs one notice record per exchange, never a queue:
	// notices that come while one waits are counted here (under mu) and coalesced into it.
	hasNotice  bool
	noticeMore uint32
}

type entry struct {
	id uint32
	w  *waiter
}

type abortNote struct {
	id     uint32
	reason uint16
}

type waiter struct {
	id       uint32
	call     *server.Call
	done     chan struct{} // receives one value when the call has its answer
	timer    *time.Timer
	drained  bool // JavaScript has taken the call
	redirect bool // the port left before JavaScript took it: another port must
	// Streams: the answer stream once it started (it then owns the waiter), and the
	// credit JavaScript gave for the request body streams, with a kick when it changes.
	stream *respStream
	body   *bodyCredit // nil unless the call has a streamed body
	kick   chan struct{}
	credit bodyCredit // what body points to, kept with the pooled waiter
}

var waiterPool = sync.Pool{New: func() any {
	return &waiter{done: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
}}

// NewPort returns a port that wakes its JavaScript thread with wake. stats may be shared.
func NewPort(wake func(), opts Options, stats *Stats) *Port { return newPort(wake, opts, stats, nil) }

// newPort is NewPort for a port of a pool, which takes the pool's access records.
func newPort(wake func(), opts Options, stats *Stats, log *accessLog) *Port {
	if stats == nil {
		stats = new(Stats)
	}
	p := &Port{wake: wake, opts: opts, stats: stats, log: log, stopWatch: make(chan struct{})}
	p.open.Store(true)
	if opts.WatchInterval > 0 {
		go p.watch()
	}
	return p
}

// Load returns the number of calls queued or running on this port.
func (p *Port) Load() int32 { return p.load.Load() }

// Invoke queues c for JavaScript and waits for its answer (c.Slot must be set). It
// returns true, with c unanswered, when the port stopped taking calls before
// JavaScript took this one: the caller hands it to another port (see Pool).
func (p *Port) Invoke(c *server.Call) (redirect bool) {
	p.mu.Lock()
	if p.state != portOpen {
		p.mu.Unlock()
		return true
	}
	if p.opts.MaxPending > 0 && p.pending >= p.opts.MaxPending {
		p.mu.Unlock()
		p.stats.Rejected.Add(1)
		c.Fail(protocol.Overloaded, strconv.Itoa(p.opts.MaxPending))
		return
	}
	w := waiterPool.Get().(*waiter)
	w.call, w.drained, w.redirect, w.stream, w.body = c, false, false, nil, nil
	if c.Body != nil {
		w.credit.reset()
		w.body = &w.credit
	}
	p.alloc(w)
	p.queue = append(p.queue, entry{w.id, w})
	p.load.Add(1)
	p.calls.Add(1)
	wake := p.arm()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
	var more *feeder
	if c.Body != nil {
		more = p.feed(w)
	} else {
		p.wait(w)
	}
	if w.stream != nil {
		// The answer goes on as a stream: the stream owns w, its slot and its load
		// until fasthttp closes it (respStream.Close); with the rest of the request
		// body, read beside it (full duplex), when the body had not ended.
		p.mu.Lock()
		w.call = nil
		p.mu.Unlock()
		if more != nil {
			w.stream.feedOn(more)
		}
		return false
	}
	p.load.Add(-1)
	redirect = w.redirect
	w.call = nil
	waiterPool.Put(w)
	return redirect
}

// Calls returns how many calls were queued on this port since it was created.
func (p *Port) Calls() uint64 { return p.calls.Load() }

// Open reports whether the port takes new calls.
func (p *Port) Open() bool { return p.open.Load() }

// setState changes the state and what new calls get. Called with p.mu held.
func (p *Port) setState(s portState, f protocol.Failure) {
	p.failure.Store(uint32(f)) // before open: a caller who sees it closed reads why
	p.state = s
	p.open.Store(s == portOpen)
}

// Leave stops taking calls because this port's thread is closing while others go on
// serving: the calls JavaScript has not taken yet are handed back (Invoke returns true
// for them, and the pool gives them to another port); the ones it has are still
// answered by it.
func (p *Port) Leave() {
	p.mu.Lock()
	if p.state == portOpen {
		p.setState(portLeaving, protocol.ShuttingDown)
	}
	var moved []*waiter
	for ; p.head < len(p.queue); p.head++ {
		e := p.queue[p.head]
		p.queue[p.head] = entry{}
		if p.take(e.id) == e.w {
			if e.w.call.Parts != nil {
				// A form's parts are read from the client as soon as it is queued (the
				// task may start before its files arrive): what was read went to this
				// port, so the call cannot start over elsewhere. It fails as a call
				// refused by a closing server does.
				e.w.call.Fail(protocol.ShuttingDown, "")
			} else {
				e.w.redirect = true
			}
			moved = append(moved, e.w)
		}
	}
	p.queue, p.head = p.queue[:0], 0
	p.mu.Unlock()
	for _, w := range moved {
		w.done <- struct{}{}
	}
}

// alloc gives w a free slot and an id. Called with p.mu held.
func (p *Port) alloc(w *waiter) {
	var slot uint32
	if n := len(p.free); n > 0 {
		slot = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		slot = uint32(len(p.slots))
		p.slots = append(p.slots, nil)
		p.gens = append(p.gens, 0)
	}
	p.gens[slot]++
	w.id = uint32(p.gens[slot])<<slotBits | slot
	p.slots[slot] = w
	p.pending++
}

// take removes the pending call id and returns its waiter, or nil when it is no longer
// pending (answered, expired, or an id answered twice). Called with p.mu held.
func (p *Port) take(id uint32) *waiter {
	slot := id & slotMask
	if int(slot) >= len(p.slots) {
		return nil
	}
	w := p.slots[slot]
	if w == nil || w.id != id {
		return nil
	}
	p.slots[slot] = nil
	p.free = append(p.free, slot)
	p.pending--
	return w
}

// arm records that a wake-up must be sent, unless one is already on its way.
// Called with p.mu held; the caller sends it after unlocking.
func (p *Port) arm() bool {
	if p.inflight {
		return false
	}
	p.inflight = true
	return true
}

func (p *Port) hasWork() bool {
	return p.head < len(p.queue) || len(p.aborts) > 0 || p.hasNotice || len(p.credits) > 0 || len(p.bodies) > 0
}

// get returns the waiter of pending call id without taking it, or nil. Called with
// p.mu held.
func (p *Port) get(id uint32) *waiter {
	slot := id & slotMask
	if int(slot) >= len(p.slots) {
		return nil
	}
	if w := p.slots[slot]; w != nil && w.id == id {
		return w
	}
	return nil
}

func (p *Port) wait(w *waiter) {
	if p.opts.Timeout <= 0 {
		<-w.done
		return
	}
	if w.timer == nil {
		w.timer = time.NewTimer(p.opts.Timeout)
	} else {
		w.timer.Reset(p.opts.Timeout)
	}
	select {
	case <-w.done:
		w.timer.Stop()
	case <-w.timer.C:
		if p.expire(w, w.id, wire.AbortTimeout) {
			p.stats.Timeouts.Add(1)
			w.call.Fail(protocol.HandlerTimeout, strconv.Itoa(int(p.opts.Timeout/time.Millisecond)))
			return
		}
		<-w.done // an answer is being applied right now
	}
}

// expire stops waiting for call id of w: it leaves the table (a late answer is then
// dropped) and, if JavaScript has the call, an abort record tells it so (its ctx.signal
// fires). It reports false when the call was answered first (w may even serve another
// call by now: take checks the id), a stream's start included: a call whose answer is a
// stream stays in the table, but its stream owns it from then on (applyStream marks it
// under p.mu), and only the stream ends it (abort, Close). Without this, a timer or the
// watcher firing between applyStream's unlock and the caller's wake-up took the slot
// and failed a call that was already streaming (issue 16's suspicion, proven).
func (p *Port) expire(w *waiter, id uint32, reason uint16) bool {
	p.mu.Lock()
	if p.get(id) != w || w.stream != nil {
		p.mu.Unlock()
		return false
	}
	p.take(id)
	// Counted before JavaScript hears of it, so stats read in an abort listener agree.
	if reason == wire.AbortDisconnect {
		p.stats.Disconnects.Add(1)
	}
	wake := false
	if w.drained {
		p.aborts = append(p.aborts, abortNote{id, reason})
		wake = p.arm()
	}
	p.unlockWaking(wake)
	return true
}

// Notify queues a notice record for JavaScript (no answer is expected). At most one
// waits per port: while one is waiting, later ones are only counted, and JavaScript gets
// that count with it (wire.KindNotice: the record's id). The first record is the one
// kept: an occasional notice reaches JavaScript as it was sent.
func (p *Port) Notify(record []byte) {
	p.mu.Lock()
	if p.state != portOpen {
		p.mu.Unlock()
		return
	}
	if p.hasNotice {
		// A wake-up is on its way already (work is queued).
		if p.noticeMore < math.MaxUint32 {
			p.noticeMore++
		}
		p.mu.Unlock()
		return
	}
	p.notice = append(p.notice[:0], record...)
	p.hasNotice = true
	p.unlockWaking(p.arm())
}

// Exchange applies a batch of answers, then writes into buf as many queued records as
// fit and returns the bytes written. When records are queued but the first does not
// fit, it writes nothing and returns need, the size buf must have. mode is
// wire.ExchangeWake when JavaScript was woken for this call (the wake-up is consumed),
// wire.ExchangeFlush otherwise. err reports a corrupt answer batch (a bug).
func (p *Port) Exchange(answers, buf []byte, mode int) (n, need int, err error) {
	if len(answers) > 0 {
		err = p.apply(answers)
	}
	p.mu.Lock()
	p.exchanges++
	if mode == wire.ExchangeWake {
		p.inflight = false
	}
	n, need = p.drain(buf)
	p.unlockWaking(p.hasWork() && p.arm())
	return n, need, err
}

func (p *Port) apply(batch []byte) error {
	for len(batch) > 0 {
		a, rest, err := wire.NextAnswer(batch)
		if err != nil {
			return err
		}
		batch = rest
		if a.Kind >= wire.AnswerStreamStart {
			p.applyStream(a)
			continue
		}
		p.mu.Lock()
		w := p.take(a.ID)
		p.mu.Unlock()
		if w == nil {
			continue
		}
		c := w.call
		switch a.Kind {
		case wire.AnswerResult:
			c.SetResult(a.Payload)
		case wire.AnswerNoResult:
			c.SetNoResult()
		case wire.AnswerVerdict:
			c.SetVerdict(a.Flags&wire.FlagAllow != 0, a.Payload)
		case wire.AnswerBadInput:
			c.SetBadInput(a.Payload)
		case wire.AnswerUnencodable:
			c.Fail(protocol.UnencodableResult, string(a.Payload))
		default:
			f, ferr := wire.SplitError(a)
			if ferr != nil {
				c.Fail(protocol.InternalPanic, "")
				w.done <- struct{}{}
				return ferr
			}
			httpCode := 0
			if a.Flags&wire.FlagHasHTTPCode != 0 {
				httpCode = a.HTTPCode
			}
			c.SetHandlerError(a.Status, f.Code, f.Message, f.ID, f.Data, httpCode, a.Flags&wire.FlagDataUndefined != 0)
		}
		w.done <- struct{}{}
	}
	return nil
}

// applyStream applies an answer about a stream: its start, a chunk, its end, or body
// credit. The call stays in the table until its stream is over.
func (p *Port) applyStream(a wire.Answer) {
	p.mu.Lock()
	w := p.get(a.ID)
	if w == nil {
		p.mu.Unlock()
		return
	}
	s, body := w.stream, w.body
	if a.Kind == wire.AnswerStreamStart && s == nil && w.call != nil {
		c := w.call
		w.stream = newRespStream(p, w, c.Conn, c.WriteTimeout)
		p.mu.Unlock()
		c.SetStream(a.Status, a.Payload, w.stream)
		w.done <- struct{}{}
		return
	}
	if a.Kind == wire.AnswerBodyCredit {
		// Under p.mu: once unlocked, the call could expire and its pooled waiter (whose
		// credit and kick these are) serve another call.
		if body != nil {
			body.give(a.Status, uint32(a.HTTPCode), a.Flags&wire.FlagDiscard != 0)
			select {
			case w.kick <- struct{}{}:
			default:
			}
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	switch a.Kind {
	case wire.AnswerChunk:
		if s != nil {
			s.push(a.Payload)
		}
	case wire.AnswerEnd, wire.AnswerStreamError:
		if s != nil {
			s.end(a.Kind == wire.AnswerStreamError)
		}
	}
}

// drain writes queued records into buf. Called with p.mu held.
func (p *Port) drain(buf []byte) (n, need int) {
	for len(p.aborts) > 0 && n+wire.CallHeader <= len(buf) {
		a := p.aborts[0]
		wire.PutCallHeader(buf[n:], a.id, wire.KindAbort, 0, a.reason, 0, 0, 0)
		n += wire.CallHeader
		p.aborts = p.aborts[1:]
	}
	if len(p.aborts) > 0 {
		return n, 0
	}
	p.aborts = nil
	for len(p.credits) > 0 && n+wire.CallHeader <= len(buf) {
		cr := p.credits[0]
		wire.PutCallHeader(buf[n:], cr.id, wire.KindCredit, 0, 0, cr.n, 0, 0)
		n += wire.CallHeader
		p.credits = p.credits[1:]
	}
	if len(p.credits) > 0 {
		return n, 0
	}
	p.credits = nil
	for p.head < len(p.queue) {
		e := p.queue[p.head]
		slot := e.id & slotMask
		if p.slots[slot] != e.w || e.w.id != e.id { // answered or expired while queued
			p.queue[p.head] = entry{}
			p.head++
			continue
		}
		size := recordSize(e.w.call)
		if n+size > len(buf) {
			if n == 0 {
				need = size
			}
			return n, need
		}
		n += putCall(buf[n:], e.id, e.w.call)
		e.w.drained = true
		p.queue[p.head] = entry{} // drop the reference for the GC
		p.head++
	}
	p.queue, p.head = p.queue[:0], 0
	for len(p.bodies) > 0 {
		rec := p.bodies[0]
		if n+len(rec) > len(buf) {
			if n == 0 {
				need = len(rec)
			}
			return n, need
		}
		n += copy(buf[n:], rec)
		releaseRecord(rec)
		p.bodies[0] = nil
		p.bodies = p.bodies[1:]
	}
	p.bodies = nil
	// The notice last: calls never wait behind it (when the buffer is full, it waits
	// for the next exchange).
	if p.hasNotice {
		if n+len(p.notice) > len(buf) {
			if n == 0 {
				need = len(p.notice)
			}
			return n, need
		}
		copy(buf[n:], p.notice)
		binary.LittleEndian.PutUint32(buf[n:], p.noticeMore) // the record's id
		n += len(p.notice)
		p.hasNotice, p.noticeMore = false, 0
	}
	// Access records after everything else: they only feed a log.
	if p.log.waiting() {
		m, room := p.log.take(buf[n:])
		if m == 0 && n == 0 {
			return 0, room
		}
		n += m
	}
	return n, 0
}

// Remote appends the client address of pending call id to dst as netip.AddrPort writes
// it ("127.0.0.1:5000", "[::1]:5000"; an IPv4-mapped IPv6 address as IPv4), and reports
// whether the call was still pending with a TCP peer. Asked only when a handler reads it
// (ctx.remoteAddress), so a call that does not costs nothing.
func (p *Port) Remote(dst []byte, id uint32) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.get(id)
	if w == nil || w.call == nil || w.call.Conn == nil {
		return dst, false
	}
	addr, ok := w.call.Conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return dst, false
	}
	ap := addr.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).AppendTo(dst), true
}

// Headers appends the request headers of pending call id to dst as a JSON object with
// lower-case names (repeated headers joined with ", "), and reports whether the call
// was still pending. The headers stay valid because the call's goroutine cannot return
// while the call is pending and p.mu is held.
func (p *Port) Headers(dst []byte, id uint32) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	slot := id & slotMask
	if int(slot) >= len(p.slots) {
		return dst, false
	}
	w := p.slots[slot]
	if w == nil || w.id != id || w.call == nil || w.call.Header == nil {
		return dst, false
	}
	return server.AppendHeaderObject(dst, w.call.Header, w.call.Extras[wire.ExtraRequestID]), true
}

// Deadline answers every pending call with 503 (close() reached its deadline) and every
// later call the same; JavaScript is told about the calls it has, so their signals fire.
func (p *Port) Deadline() {
	p.mu.Lock()
	if p.state == portOpen || p.state == portLeaving {
		p.setState(portClosing, protocol.ClosedBeforeAnswer)
	}
	released, streams := p.sweep(true)
	p.stats.ClosedByDeadline.Add(uint64(len(released))) // counted before pending reads 0
	wake := p.hasWork() && p.arm()
	p.unlockWaking(wake)
	p.release(released, streams, protocol.ClosedBeforeAnswer, wire.AbortClosing)
}

// Shutdown answers every pending call with f and every later call the same, and stops
// waking JavaScript: its environment is going away.
func (p *Port) Shutdown(f protocol.Failure) {
	p.mu.Lock()
	p.setState(portGone, f)
	released, streams := p.sweep(false)
	clear(p.queue)
	p.queue, p.head, p.aborts, p.credits, p.bodies = p.queue[:0], 0, nil, nil, nil
	p.notice, p.hasNotice, p.noticeMore = nil, false, 0
	p.mu.Unlock()
	p.release(released, streams, f, 0) // JavaScript is gone: nobody to tell
}

// sweep takes every pending call out of the table, but those whose answer is a stream
// (their stream owns them until it closes), and returns both; tell queues an abort record
// for each call JavaScript has, so that its signal fires. Called with p.mu held.
func (p *Port) sweep(tell bool) (released []*waiter, streams []*respStream) {
	for _, w := range p.slots {
		switch {
		case w == nil:
		case w.stream != nil:
			streams = append(streams, w.stream)
		default:
			p.take(w.id)
			if tell && w.drained {
				p.aborts = append(p.aborts, abortNote{w.id, wire.AbortClosing})
			}
			released = append(released, w)
		}
	}
	return released, streams
}

// release ends what sweep took, without p.mu: each stream aborted (reason 0: tell no
// one), each call failed with f and its goroutine woken.
func (p *Port) release(released []*waiter, streams []*respStream, f protocol.Failure, reason uint16) {
	for _, st := range streams {
		st.abort(reason)
	}
	for _, w := range released {
		w.call.Fail(f, "")
		w.done <- struct{}{}
	}
}

// enqueue adds work for JavaScript (add runs under p.mu) unless the port is gone, and
// sends the wake-up it needs: the one way notes reach the queues outside a call.
// It reports whether add ran.
func (p *Port) enqueue(add func()) bool {
	p.mu.Lock()
	if p.state == portGone {
		p.mu.Unlock()
		return false
	}
	add()
	p.unlockWaking(p.arm())
	return true
}

// unlockWaking unlocks p.mu, then sends the wake-up arm decided on, if any.
func (p *Port) unlockWaking(wake bool) {
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

// Close stops the watchdog. Pending calls are not affected.
func (p *Port) Close() { p.stopOnce.Do(func() { close(p.stopWatch) }) }

// Pending returns the number of calls waiting for an answer from JavaScript.
func (p *Port) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pending
}
