package bridge

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/wire"
)

// Answer streams (JavaScript → client), with backpressure; request body streams go the
// other way (feed.go). A handler that answers with a stream sends
// AnswerStreamStart, then chunks, then AnswerEnd or AnswerStreamError. Its call stays in
// the port's table, and the server reads the chunks through respStream as fasthttp
// writes them out. JavaScript may have at most wire.StreamWindow bytes in flight; Go
// gives credit back (KindCredit) as fasthttp consumes them, so a slow client slows the
// JavaScript stream down instead of growing memory. A client that goes away, a close()
// deadline or the environment going away end the stream, and JavaScript is told (an
// abort record) so that it destroys its stream and the call's signal fires.

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

// credit gives a response stream n bytes of credit back.
func (p *Port) credit(id uint32, n int) {
	p.enqueue(func() { p.credits = append(p.credits, creditNote{id, uint32(n)}) })
}

// abortStream tells JavaScript that the stream of call id ended early.
func (p *Port) abortStream(id uint32, reason uint16) {
	p.enqueue(func() { p.aborts = append(p.aborts, abortNote{id, reason}) })
}

type creditNote struct {
	id uint32
	n  uint32
}
