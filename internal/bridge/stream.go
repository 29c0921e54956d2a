package bridge

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/multipart"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Streams through the bridge, both ways, with backpressure.
//
// Answer streams (JavaScript → client). A handler that answers with a stream sends
// AnswerStreamStart, then chunks, then AnswerEnd or AnswerStreamError. Its call stays in
// the port's table, and the server reads the chunks through respStream as fasthttp
// writes them out. JavaScript may have at most wire.StreamWindow bytes in flight; Go
// gives credit back (KindCredit) as fasthttp consumes them, so a slow client slows the
// JavaScript stream down instead of growing memory. A client that goes away, a close()
// deadline or the environment going away end the stream, and JavaScript is told (an
// abort record) so that it destroys its stream and the call's signal fires.
//
// Body streams (client → JavaScript). A call whose body is streamed (Call.Body) is
// queued with FlagBodyStream, or FlagMultipart for a form whose files are streamed; the
// goroutine that serves it then reads the body only as JavaScript asks for it
// (AnswerBodyCredit, per stream) and hands it over in KindBody records of at most
// wire.BodyChunk bytes, so an upload never sits whole in memory either.

// errStreamFailed: the handler's stream failed after the first byte; the response is cut.
var errStreamFailed = errors.New("bridge: the handler's stream failed")

// errStreamAborted: the stream ended early (client gone, close() deadline, shutdown).
var errStreamAborted = errors.New("bridge: the stream was aborted")

// creditStep is how many consumed bytes make a credit record worth sending.
const creditStep = wire.StreamWindow / 4

type streamState uint8

const (
	streamOpen streamState = iota
	streamEnded
	streamFailed
	streamAborted
)

// respStream is the answer stream of one call, read by the server as an io.ReadCloser
// and, for chunked answers, written out through WriteTo (fasthttp's BodyWriterTo).
//
// The bytes JavaScript sent and the client has not been written yet sit in a ring of
// wire.StreamWindow bytes. JavaScript never has more than that unacknowledged, and Go
// acknowledges bytes (credit) only once they are written, so the ring cannot overflow;
// a stream that would overflow it breaks the protocol and fails. The writer writes
// straight from the ring, as much as is there at once: every write is one chunk on the
// wire, so a stream of many small pieces costs few system calls, and no chunk is copied
// twice or allocated per piece (rings are pooled).
//
// Ownership. A ring goes back to the pool only when nothing can read or write it any
// more, and the code enforces it (releaseRing) rather than the callers' order: a run
// handed to the writer is lent until the writer returns it (written), and the stream
// is the server's until fasthttp closes it (Close, on the goroutine that writes, after
// WriteTo returned). Aborting a stream (a client gone, a close() deadline, the
// environment gone) only marks it, tells JavaScript and unblocks a blocked writer with
// a write deadline in the past; it never frees the ring nor the call's slot. A write
// blocked on a slow client therefore reads its own bytes to the end, and another
// stream can never be handed a ring that a write still reads from.
type respStream struct {
	p            *Port
	w            *waiter
	id           uint32
	conn         net.Conn
	writeTimeout time.Duration

	mu       sync.Mutex
	ready    chan struct{} // a value when bytes or an end arrived
	ring     *[wire.StreamWindow]byte
	start    int // where the unwritten bytes begin
	size     int // how many there are
	state    streamState
	consumed int // bytes written since the last credit
	// Who may still touch the ring (see releaseRing): lent while a run of it is with the
	// writer (from next to written), closed once fasthttp is done with the stream.
	lent   bool
	closed bool
	// Full duplex: a request body still being read beside the answer (feedOn). stopFeed
	// is closed when fasthttp is done with the stream; fed when the feeder returned.
	stopFeed chan struct{}
	fed      chan struct{}
}

// fasthttp writes chunked answers through WriteTo: one chunk per run of the ring.
var _ fasthttp.BodyWriterTo = (*respStream)(nil)

// rings recycles the rings of finished streams.
var rings = sync.Pool{New: func() any { return new([wire.StreamWindow]byte) }}

func newRespStream(p *Port, w *waiter, conn net.Conn, writeTimeout time.Duration) *respStream {
	return &respStream{p: p, w: w, id: w.id, conn: conn, writeTimeout: writeTimeout, ready: make(chan struct{}, 1)}
}

func (s *respStream) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// push adds bytes from JavaScript (copied into the ring).
func (s *respStream) push(b []byte) {
	s.mu.Lock()
	if s.state == streamOpen && len(b) > 0 {
		if s.size+len(b) > len(s.ring) {
			// More than the window: JavaScript broke the protocol. Cut the response.
			s.state = streamFailed
			s.p.stats.StreamErrors.Add(1)
		} else {
			if s.ring == nil {
				s.ring = rings.Get().(*[wire.StreamWindow]byte)
			}
			at := (s.start + s.size) % len(s.ring)
			n := copy(s.ring[at:], b)
			copy(s.ring[:], b[n:])
			s.size += len(b)
		}
	}
	s.mu.Unlock()
	s.signal()
}

// end marks the end of the stream: well (failed false) or not.
func (s *respStream) end(failed bool) {
	s.mu.Lock()
	if s.state == streamOpen {
		s.state = streamEnded
		if failed {
			s.state = streamFailed
			s.p.stats.StreamErrors.Add(1)
		}
	}
	s.mu.Unlock()
	s.signal()
}

// abort ends the stream from Go's side, once: a disconnect is counted (before
// JavaScript hears of it, so stats read in an abort listener agree), JavaScript is told
// through an abort record with reason (0: not told, its environment is gone), and a
// writer blocked on the client is unblocked by a write deadline in the past (the
// response is cut: fasthttp then closes the connection). It releases nothing: the ring
// and the slot stay the stream's until fasthttp closes it.
func (s *respStream) abort(reason uint16) { s.stop(reason, true) }

// Refuse stops an answer stream the server will not send because its head is not
// valid HTTP (internal/server answers the call 500 instead): JavaScript is told to stop
// producing it (wire.AbortBadHeader). It leaves the connection's deadlines alone (the
// 500 is still to be written on it), and the server's Close that follows frees the ring
// and the slot, as it always does (only Close may).
func (s *respStream) Refuse() { s.stop(wire.AbortBadHeader, false) }

// stop ends the stream once (see abort); cut also unblocks a writer blocked on the
// client.
func (s *respStream) stop(reason uint16, cut bool) {
	s.mu.Lock()
	open := s.state == streamOpen
	if open {
		s.state = streamAborted
		if cut && !s.closed && s.conn != nil {
			// Under s.mu: deadline sets no later deadline once the state is aborted, and
			// once fasthttp closed the stream the connection may serve another request.
			_ = s.conn.SetWriteDeadline(aLongTimeAgo)
		}
	}
	s.mu.Unlock()
	s.signal()
	if !open {
		return
	}
	if reason == wire.AbortDisconnect {
		s.p.stats.Disconnects.Add(1)
	}
	if reason != 0 {
		s.p.abortStream(s.id, reason)
	}
}

// aLongTimeAgo is a write deadline that has passed: a blocked write returns at once.
var aLongTimeAgo = time.Unix(1, 0)

// next waits for unwritten bytes and returns the longest run of them that is contiguous
// in the ring, at most max bytes (0: no limit), or what ends the stream: io.EOF after a
// good end, errStreamFailed once the bytes before the failure are written,
// errStreamAborted at once. The run is lent to the caller until it calls written (which
// it must, even with 0): push only writes where the ring is free, and releaseRing keeps
// a lent ring out of the pool.
func (s *respStream) next(max int) ([]byte, error) {
	for {
		s.mu.Lock()
		state := s.state
		if state != streamAborted && s.size > 0 {
			n := min(s.size, len(s.ring)-s.start)
			if max > 0 {
				n = min(n, max)
			}
			run := s.ring[s.start : s.start+n]
			s.lent = true
			s.mu.Unlock()
			return run, nil
		}
		s.mu.Unlock()
		switch state {
		case streamEnded:
			return nil, io.EOF
		case streamFailed:
			return nil, errStreamFailed
		case streamAborted:
			return nil, errStreamAborted
		}
		<-s.ready
	}
}

// written gives back the run next lent, n bytes of it written, and gives JavaScript
// credit for them in steps of creditStep (or all of it when the ring is empty).
func (s *respStream) written(n int) {
	s.mu.Lock()
	s.lent = false
	credit := 0
	if s.ring != nil {
		s.start = (s.start + n) % len(s.ring)
		s.size -= n
		s.consumed += n
		if s.consumed >= creditStep || s.size == 0 {
			credit, s.consumed = s.consumed, 0
		}
	}
	if s.closed {
		credit = 0 // the call is over: nobody is owed credit
	}
	s.releaseRing()
	s.mu.Unlock()
	if credit > 0 {
		s.p.credit(s.id, credit)
	}
}

// releaseRing gives the ring back to the pool if nothing can use it any more: no run
// of it is lent to a writer, fasthttp is done with the stream, and push writes nothing
// (the stream is not open, which it never is once closed). Called with s.mu held.
func (s *respStream) releaseRing() {
	if s.ring == nil || s.lent || !s.closed || s.state == streamOpen {
		return
	}
	rings.Put(s.ring)
	s.ring = nil
}

// deadline bounds the next write: a long stream is bounded per write, not as a whole.
// It reports false once the stream is aborted: the write must not start (abort set a
// deadline in the past, which a later one would undo).
func (s *respStream) deadline() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == streamAborted {
		return false
	}
	if s.writeTimeout > 0 && s.conn != nil {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	}
	return true
}

// Read implements io.Reader for the server: it blocks until JavaScript sends bytes.
func (s *respStream) Read(b []byte) (int, error) {
	run, err := s.next(len(b))
	if err != nil {
		return 0, err
	}
	n := copy(b, run)
	s.written(n)
	if !s.deadline() {
		return n, errStreamAborted
	}
	return n, nil
}

// WriteTo writes the stream to w (for a chunked answer, fasthttp's chunk writer: one
// chunk per Write) straight from the ring, as much as is there at once.
func (s *respStream) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		run, err := s.next(0)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		if !s.deadline() {
			s.written(0)
			return total, errStreamAborted
		}
		n, err := w.Write(run)
		total += int64(n)
		s.written(n)
		if err != nil {
			return total, err
		}
	}
}

// SupportsBodyWriteTo tells fasthttp that WriteTo may replace Read (fasthttp.BodyWriterTo):
// both pace and account alike.
func (s *respStream) SupportsBodyWriteTo() bool { return true }

// Close implements io.Closer: fasthttp is done with the stream (it calls Close on the
// goroutine that writes, after WriteTo or Read returned, or when it drops a response it
// never wrote). Only Close frees the ring and the call's slot: nothing else may, since
// only fasthttp knows when it stopped writing. If it stopped before the end, the client
// went away (or could not be written to).
func (s *respStream) Close() error {
	s.abort(wire.AbortDisconnect) // counted and told only if it was still open
	s.stopFeeding()
	s.mu.Lock()
	done := s.closed
	s.closed = true
	s.releaseRing() // unless a run is still lent: then written releases it
	s.mu.Unlock()
	if done {
		return nil
	}
	s.p.mu.Lock()
	s.p.take(s.id)
	s.p.mu.Unlock()
	s.p.load.Add(-1)
	return nil
}

// feedOn goes on reading the call's request body beside the answer (full duplex), from
// a goroutine of its own, until the body ends or fails, or the stream is closed. Called
// by Invoke before the server has the stream, so before Close can run.
func (s *respStream) feedOn(f *feeder) {
	s.mu.Lock()
	s.stopFeed, s.fed = make(chan struct{}), make(chan struct{})
	f.stream, f.stop = s, s.stopFeed
	s.mu.Unlock()
	go func() {
		defer close(s.fed)
		f.run()
	}()
}

// Duplex reports whether the request body is read beside the answer (server.Call.Duplex).
func (s *respStream) Duplex() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fed != nil
}

// stopFeeding ends a feeder running beside the stream and waits until it returned:
// fasthttp may reuse or release the request's body reader, and the server its call,
// as soon as Close returns. A feeder waiting for credit returns at once; one blocked
// reading a client that sends nothing is unblocked with a read deadline in the past,
// set again until it returned (the body reader sets its own deadline at the start of
// each read, which could undo a single one). The connection closes after such an
// answer anyway (its body was unread when the answer started: Connection: close), and
// closing it lingers as usual (it sets a read deadline of its own).
func (s *respStream) stopFeeding() {
	s.mu.Lock()
	stop, fed := s.stopFeed, s.fed
	s.stopFeed = nil
	s.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	select {
	case <-fed:
		return
	default:
	}
	if s.conn == nil {
		<-fed
		return
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		_ = s.conn.SetReadDeadline(aLongTimeAgo)
		select {
		case <-fed:
			return
		case <-t.C:
		}
	}
}

// feed serves a call whose body is streamed to JavaScript (c.Body): it reads the body as
// JavaScript gives credit and queues the pieces, until the body ends or the call is
// answered, then waits for the answer. A body that fails (too large, cut short, broken,
// timed out) is answered by Go (bodyFailed). One goroutine at a time reads the body.
//
// Full duplex: when the answer is a stream that starts before the body's end (an echo,
// a transform of the upload), feed returns the feeder, and the stream goes on feeding
// from a goroutine of its own (respStream.feedOn) while the server writes the answer,
// as node:http reads a request while its response is written. Without this, an echo
// stalled for ever once the socket buffers were full.
func (p *Port) feed(w *waiter) *feeder {
	f := &feeder{p: p, w: w, c: w.call, credit: w.body}
	if p.opts.Timeout > 0 {
		t := time.NewTimer(p.opts.Timeout)
		defer t.Stop()
		f.timer = t.C
	}
	f.run()
	if f.more && w.stream != nil {
		f.timer = nil // the call is answered: taskTimeoutMs is over for it
		return f
	}
	return nil
}

// run reads the body until its end, a failure, or (more) the call's answer.
func (f *feeder) run() {
	defer func() {
		// A bug in a body's reader (the multipart parser reads what clients send) must
		// fail this call as a broken body would, its slot freed and JavaScript told,
		// never unwind through the server or reach Node.
		if v := recover(); v != nil {
			f.more = false
			if f.c.Parts != nil {
				f.formFailed(protocol.FormReaderPanic)
			} else {
				f.failed(wire.AbortDisconnect)
			}
		}
	}()
	if f.c.Parts != nil {
		f.form()
	} else {
		f.raw()
	}
}

type feeder struct {
	p      *Port
	w      *waiter
	c      *server.Call
	credit *bodyCredit
	timer  <-chan time.Time
	// Where the body is, so that reading can resume after the call's answer.
	sent    uint32 // bytes of the current stream sent
	cur     int    // the form part being read (0: none)
	next    int    // the next form part's stream
	started bool   // a form's early parts are queued
	// more: the call got its answer before the body's end. Once its answer is a stream,
	// stream is set and the feeder runs on until the body ends or stop is closed.
	more   bool
	stream *respStream
	stop   <-chan struct{}
}

// raw streams a raw body (stream 0), read straight into pooled records.
func (f *feeder) raw() {
	p, w, c := f.p, f.w, f.c
	for {
		if f.answered() {
			return
		}
		sent := f.sent
		avail, _, _ := f.credit.state(0, sent)
		if avail == 0 {
			if !f.await() {
				return
			}
			continue
		}
		rec := bodyRecords.Get().(*bodyRecord)
		n, err := c.Body.Read(rec[wire.CallHeader : wire.CallHeader+min(avail, wire.BodyChunk)])
		f.sent += uint32(n)
		if f.stopped() {
			bodyRecords.Put(rec) // the stream is over: nobody takes what came
			return
		}
		if errors.Is(err, server.ErrBodyTooLarge) {
			bodyRecords.Put(rec)
			f.failed(wire.AbortTooLarge)
			return
		}
		end := errors.Is(err, io.EOF)
		if n > 0 || end {
			var flags byte
			if end {
				flags = wire.FlagEnd
			}
			wire.PutCallHeader(rec[:], w.id, wire.KindBody, flags, 0, 0, n, 0)
			p.queueRecord(rec[:wire.CallHeader+n])
		} else {
			bodyRecords.Put(rec)
		}
		if end {
			f.waitAnswer()
			return
		}
		if err != nil {
			f.failed(wire.AbortDisconnect)
			return
		}
	}
}

// waitAnswer waits for the call's answer once the body is read, unless the answer is
// already a stream (this feeder runs on beside it).
func (f *feeder) waitAnswer() {
	if f.stream == nil {
		f.p.wait(f.w)
	}
}

// stopped reports whether the answer stream this feeder runs beside is over: nothing
// may be read or queued any more.
func (f *feeder) stopped() bool {
	if f.stop == nil {
		return false
	}
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

// failed ends a body that failed: before the call's answer, Go answers it (bodyFailed);
// once the answer is a stream, the stream is cut with reason (JavaScript told: ctx.body
// fails and the signal fires), as node:http's response ends when its request errors.
func (f *feeder) failed(reason uint16) {
	if f.stream == nil && f.p.bodyFailed(f.w, reason) {
		return
	}
	f.more = false
	if s := f.w.stream; s != nil { // set before the answer's done, which was received
		s.abort(reason)
	}
}

// maxFileStreams is the most file parts one form may stream: records name a stream in
// 16 bits, and stream 0 is the form itself.
const maxFileStreams = 1<<16 - 1

// discarded is what a file part's stream fails with when the task settled before
// reading it (wire.FlagDiscard on stream 0): protocol.StreamDiscarded.
var (
	discardedCode    = []byte(protocol.StreamDiscarded.Code)
	discardedMessage = []byte(protocol.StreamDiscarded.Message)
)

// form streams a multipart form's file parts (streams 1, 2...), the ones that came
// before the manifest first, then tells how the form ended (stream 0). Parts come in
// order: a part JavaScript does not read holds the ones after it back (as busboy's do),
// until the task settles; from then on nothing waits for credit (see wire).
func (f *feeder) form() {
	p, w, c := f.p, f.w, f.c
	if !f.started {
		f.started = true
		for i, e := range c.Early {
			f.credit.open(i+1, wire.BodyChunk)
			p.queuePart(w.id, uint16(i+1), &e.Part, e.Data, wire.FlagEnd)
		}
		f.next = len(c.Early) + 1
	}
	for {
		if f.answered() {
			return
		}
		cur, next, sent := f.cur, f.next, f.sent
		if cur == 0 {
			part, err := c.Parts.Next()
			if f.stopped() {
				return
			}
			if err == io.EOF {
				p.queueBody(w.id, 0, wire.FlagEnd, 0, nil, nil)
				f.waitAnswer()
				return
			}
			if err != nil {
				f.formFailed(err)
				return
			}
			if next > maxFileStreams {
				// A record names its stream in 16 bits (0 is the form itself): a form of
				// more file parts than that is refused as one over a files limit.
				f.formFailed(multipart.ErrTooManyFiles)
				return
			}
			f.cur, f.sent, f.next = next, 0, next+1
			f.credit.open(next, wire.BodyChunk)
			p.queuePart(w.id, uint16(next), part, nil, 0)
			continue
		}
		avail, unwanted, settled := f.credit.state(cur, sent)
		switch {
		case unwanted:
			avail = wire.BodyChunk // read on, to the part's end, sending nothing
		case avail == 0 && settled:
			var extras [wire.ExtraCount][]byte
			extras[wire.ExtraCode] = discardedCode
			p.queueBody(w.id, uint16(cur), wire.FlagFailed, 0, discardedMessage, &extras)
			f.credit.give(cur, 0, true)
			continue
		case avail == 0:
			if !f.await() {
				return
			}
			continue
		}
		b, err := c.Parts.Read(min(avail, wire.BodyChunk))
		if f.stopped() {
			return
		}
		if err == io.EOF {
			if !unwanted {
				p.queueBody(w.id, uint16(cur), wire.FlagEnd, 0, nil, nil)
			}
			f.cur = 0
			continue
		}
		if len(b) > 0 && !unwanted {
			p.queueBody(w.id, uint16(cur), 0, 0, b, nil)
		}
		f.sent += uint32(len(b))
		if err != nil {
			f.formFailed(err)
			return
		}
	}
}

// formFailed ends a form that failed: runner's refusal goes to JavaScript (stream 0
// fails; the task's answer says what the client gets), a body too large or cut short
// is answered by Go.
func (f *feeder) formFailed(err error) {
	p, w := f.p, f.w
	if fail, ok := multipart.Failed(err); ok {
		var extras [wire.ExtraCount][]byte
		extras[wire.ExtraCode] = []byte(fail.Code)
		p.queueBody(w.id, 0, wire.FlagFailed, uint32(fail.Status), []byte(fail.Message), &extras)
		f.waitAnswer()
		return
	}
	if errors.Is(err, server.ErrBodyTooLarge) {
		f.failed(wire.AbortTooLarge)
		return
	}
	f.failed(wire.AbortDisconnect)
}

// answered reports (without waiting) whether the feeder must stop: the call has its
// answer already (more), or, beside an answer stream, the stream is over.
func (f *feeder) answered() bool {
	if f.stop != nil {
		return f.stopped()
	}
	select {
	case <-f.w.done:
		f.more = true
		return true
	default:
		return false
	}
}

// await waits for credit; false when the call has its answer (or timed out) instead,
// or, beside an answer stream, when the stream is over.
func (f *feeder) await() bool {
	p, w := f.p, f.w
	if f.stop != nil {
		select {
		case <-f.stop:
			return false
		case <-w.kick:
			return true
		}
	}
	select {
	case <-w.done:
		f.more = true
		return false // answered before it read the whole body
	case <-w.kick:
		return true
	case <-f.timer:
		if p.expire(w, w.id, wire.AbortTimeout) {
			p.stats.Timeouts.Add(1)
			w.call.Fail(protocol.HandlerTimeout, strconv.Itoa(int(p.opts.Timeout/time.Millisecond)))
			return false
		}
		<-w.done
		f.more = true
		return false
	}
}

// bodyCredit is what JavaScript allows of a call's body streams, by stream (see wire).
type bodyCredit struct {
	mu       sync.Mutex
	granted  []uint32 // bytes of stream i JavaScript can take, from the stream's start (mod 2^32)
	unwanted []bool   // stream i is not wanted any more
	settled  bool     // a form's task settled: never wait for credit again
}

func (b *bodyCredit) reset() {
	b.mu.Lock()
	b.granted, b.unwanted, b.settled = b.granted[:0], b.unwanted[:0], false
	b.mu.Unlock()
}

func (b *bodyCredit) grow(stream int) {
	for len(b.granted) <= stream {
		b.granted = append(b.granted, 0)
		b.unwanted = append(b.unwanted, false)
	}
}

// open starts stream with an initial grant.
func (b *bodyCredit) open(stream int, initial uint32) {
	b.mu.Lock()
	b.grow(stream)
	b.granted[stream] = initial
	b.mu.Unlock()
}

// give applies a credit answer: a new offset, or (discard) the stream is not wanted; a
// discard of stream 0 means the task settled (a form; a raw body ignores it: the
// answer, which follows, ends the call).
func (b *bodyCredit) give(stream int, offset uint32, discard bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case discard && stream == 0:
		b.settled = true
	case discard:
		b.grow(stream)
		b.unwanted[stream] = true
	default:
		b.grow(stream)
		if int32(offset-b.granted[stream]) > 0 {
			b.granted[stream] = offset
		}
	}
}

// state returns how many more bytes stream may get after sent, whether it is unwanted,
// and whether the task settled.
func (b *bodyCredit) state(stream int, sent uint32) (avail int, unwanted, settled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if stream < len(b.granted) {
		avail = max(0, int(int32(b.granted[stream]-sent)))
		unwanted = b.unwanted[stream]
	}
	return avail, unwanted, b.settled
}

// bodyFailed answers the call itself because its body failed (too large: 413; cut
// short: the client is gone). JavaScript is told with an abort record, which destroys
// ctx.body and fires the signal with the reason. It reports false when the call was
// answered first (its answer received): an answer stream's start included, which
// only the stream may end (see expire).
func (p *Port) bodyFailed(w *waiter, reason uint16) bool {
	p.mu.Lock()
	if p.get(w.id) != w || w.stream != nil {
		p.mu.Unlock()
		<-w.done // answered first
		return false
	}
	p.take(w.id)
	if reason == wire.AbortDisconnect {
		p.stats.Disconnects.Add(1)
	}
	wake := false
	if w.drained {
		p.aborts = append(p.aborts, abortNote{w.id, reason})
		wake = p.arm()
	}
	p.mu.Unlock()
	if wake {
		p.wake()
	}
	if reason == wire.AbortTooLarge {
		w.call.Fail(protocol.PayloadTooLarge, strconv.Itoa(w.call.BodyLimit()))
	} else {
		w.call.Fail(protocol.ClientGone, "")
	}
	return true
}

// queueBody queues a KindBody record of call id's stream.
func (p *Port) queueBody(id uint32, stream uint16, flags byte, status uint32, data []byte, extras *[wire.ExtraCount][]byte) {
	if extras == nil {
		extras = &[wire.ExtraCount][]byte{}
	}
	var rec []byte
	if size := wire.RecordSize(data, extras); size <= len(bodyRecord{}) {
		rec = bodyRecords.Get().(*bodyRecord)[:size]
	} else {
		rec = make([]byte, size)
	}
	wire.PutRecord(rec, id, wire.KindBody, flags, stream, status, data, extras)
	p.queueRecord(rec)
}

// bodyRecord is a KindBody record with room for a full chunk. Pooled: drain gives each
// back once it copied it for JavaScript, so a stream allocates no memory per chunk.
type bodyRecord = [wire.CallHeader + wire.BodyChunk]byte

var bodyRecords = sync.Pool{New: func() any { return new(bodyRecord) }}

// releaseRecord gives a drained KindBody record back to the pool, when it is one.
func releaseRecord(rec []byte) {
	if cap(rec) == len(bodyRecord{}) {
		bodyRecords.Put((*bodyRecord)(rec[:cap(rec)]))
	}
}

// queueRecord queues a KindBody record for JavaScript.
func (p *Port) queueRecord(rec []byte) {
	p.mu.Lock()
	if p.state == portGone {
		p.mu.Unlock()
		releaseRecord(rec)
		return
	}
	p.bodies = append(p.bodies, rec)
	wake := p.arm()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

// queuePart queues the first record of a file part: what it is, and data.
func (p *Port) queuePart(id uint32, stream uint16, part *multipart.Part, data []byte, flags byte) {
	var extras [wire.ExtraCount][]byte
	extras[wire.ExtraFileID] = part.ID
	extras[wire.ExtraFilename] = part.Filename
	extras[wire.ExtraFilenameCharset] = part.FilenameCharset
	extras[wire.ExtraFileType] = part.Type
	p.queueBody(id, stream, wire.FlagPart|flags, 0, data, &extras)
}

// credit gives a response stream n bytes of credit back.
func (p *Port) credit(id uint32, n int) {
	p.mu.Lock()
	if p.state == portGone {
		p.mu.Unlock()
		return
	}
	p.credits = append(p.credits, creditNote{id, uint32(n)})
	wake := p.arm()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

// abortStream tells JavaScript that the stream of call id ended early.
func (p *Port) abortStream(id uint32, reason uint16) {
	p.mu.Lock()
	if p.state == portGone {
		p.mu.Unlock()
		return
	}
	p.aborts = append(p.aborts, abortNote{id, reason})
	wake := p.arm()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
}

type creditNote struct {
	id uint32
	n  uint32
}
