package bridge

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/bluelibs/runner-native/internal/protocol"
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
// queued with FlagBodyStream; the goroutine that serves it then reads the body only as
// JavaScript asks for it (AnswerBodyCredit) and hands it over in KindBody records of at
// most wire.BodyChunk bytes, so an upload never sits whole in memory either.

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

// respStream is the answer stream of one call, read by the server as an io.ReadCloser.
type respStream struct {
	p            *Port
	w            *waiter
	id           uint32
	conn         net.Conn
	writeTimeout time.Duration

	mu       sync.Mutex
	ready    chan struct{} // a value when chunks or an end arrived
	chunks   [][]byte
	head     []byte
	state    streamState
	consumed int // bytes read since the last credit
	finished bool
}

func newRespStream(p *Port, w *waiter, conn net.Conn, writeTimeout time.Duration) *respStream {
	return &respStream{p: p, w: w, id: w.id, conn: conn, writeTimeout: writeTimeout, ready: make(chan struct{}, 1)}
}

func (s *respStream) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// push adds a chunk from JavaScript (copied).
func (s *respStream) push(b []byte) {
	s.mu.Lock()
	if s.state == streamOpen && len(b) > 0 {
		s.chunks = append(s.chunks, append([]byte(nil), b...))
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

// abort ends the stream from Go's side. JavaScript hears of it through an abort record
// with reason (0: not told, its environment is gone).
func (s *respStream) abort(reason uint16) {
	s.mu.Lock()
	open := s.state == streamOpen
	if open {
		s.state = streamAborted
		s.chunks, s.head = nil, nil
	}
	s.mu.Unlock()
	s.signal()
	if open && reason != 0 {
		s.p.abortStream(s.id, reason)
	}
}

// Read implements io.Reader for the server: it blocks until JavaScript sends bytes.
func (s *respStream) Read(b []byte) (int, error) {
	for {
		s.mu.Lock()
		if len(s.head) == 0 && len(s.chunks) > 0 {
			s.head, s.chunks[0] = s.chunks[0], nil
			s.chunks = s.chunks[1:]
		}
		if len(s.head) > 0 {
			n := copy(b, s.head)
			s.head = s.head[n:]
			s.consumed += n
			credit := 0
			if s.consumed >= creditStep || (len(s.head) == 0 && len(s.chunks) == 0) {
				credit, s.consumed = s.consumed, 0
			}
			s.mu.Unlock()
			if credit > 0 {
				s.p.credit(s.id, credit)
			}
			if s.writeTimeout > 0 && s.conn != nil {
				// A long stream is bounded per write, not as a whole.
				_ = s.conn.SetWriteDeadline(time.Now().Add(s.writeTimeout))
			}
			return n, nil
		}
		state := s.state
		s.mu.Unlock()
		switch state {
		case streamEnded:
			return 0, io.EOF
		case streamFailed:
			return 0, errStreamFailed
		case streamAborted:
			return 0, errStreamAborted
		}
		<-s.ready
	}
}

// Close implements io.Closer: fasthttp is done with the stream. If it stopped before
// the end, the client went away (or could not be written to).
func (s *respStream) Close() error {
	s.mu.Lock()
	wasOpen := s.state == streamOpen
	s.mu.Unlock()
	if wasOpen {
		s.p.stats.Disconnects.Add(1)
		s.abort(wire.AbortDisconnect)
	}
	s.finish()
	return nil
}

// finish frees the call's slot, once.
func (s *respStream) finish() {
	s.mu.Lock()
	done := s.finished
	s.finished = true
	s.mu.Unlock()
	if done {
		return
	}
	s.p.mu.Lock()
	s.p.take(s.id)
	s.p.mu.Unlock()
	s.p.load.Add(-1)
}

// feed serves a call whose body is streamed to JavaScript (c.Body): it reads the body as
// JavaScript gives credit and queues the pieces, until the body ends or the call is
// answered, then waits for the answer. A body that fails (too large, cut short, broken,
// timed out) is answered by Go (bodyFailed).
func (p *Port) feed(w *waiter) {
	c := w.call
	buf := make([]byte, wire.BodyChunk)
	total := 0
	var timer <-chan time.Time
	if p.opts.Timeout > 0 {
		t := time.NewTimer(p.opts.Timeout)
		defer t.Stop()
		timer = t.C
	}
	for {
		avail := int(w.credit.Swap(0))
		for avail > 0 {
			if c.ReadTimeout > 0 && c.Conn != nil {
				// A long upload is bounded per read, not as a whole.
				_ = c.Conn.SetReadDeadline(time.Now().Add(c.ReadTimeout))
			}
			n, err := c.Body.Read(buf[:min(avail, len(buf))])
			avail -= n
			total += n
			if c.BodyLimit > 0 && total > c.BodyLimit {
				p.bodyFailed(w, wire.AbortTooLarge)
				return
			}
			end := errors.Is(err, io.EOF)
			if end && c.BodySize >= 0 && total < c.BodySize {
				end, err = false, io.ErrUnexpectedEOF // cut short: the client went away
			}
			if n > 0 || end {
				var flags byte
				if end {
					flags = wire.FlagEnd
				}
				p.queueBody(w.id, flags, buf[:n], nil)
			}
			if end {
				p.wait(w)
				return
			}
			if err != nil {
				p.bodyFailed(w, wire.AbortDisconnect)
				return
			}
		}
		select {
		case <-w.done:
			return // answered before it read the whole body
		case <-w.kick:
		case <-timer:
			if p.expire(w, w.id, wire.AbortTimeout) {
				p.stats.Timeouts.Add(1)
				c.Fail(protocol.HandlerTimeout, strconv.Itoa(int(p.opts.Timeout/time.Millisecond)))
				return
			}
			<-w.done
			return
		}
	}
}

// bodyFailed answers the call itself because its body failed (too large: 413; cut
// short: the client is gone). JavaScript is told with an abort record, which destroys
// ctx.body and fires the signal with the reason.
func (p *Port) bodyFailed(w *waiter, reason uint16) {
	p.mu.Lock()
	if p.take(w.id) != w {
		p.mu.Unlock()
		<-w.done // answered first
		return
	}
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
		w.call.Fail(protocol.PayloadTooLarge, strconv.Itoa(w.call.BodyLimit))
	} else {
		w.call.Fail(protocol.ClientGone, "")
	}
}

// queueBody queues a KindBody record for call id.
func (p *Port) queueBody(id uint32, flags byte, data, code []byte) {
	var extras [wire.ExtraCount][]byte
	if code != nil {
		extras[wire.ExtraCode] = code
	}
	rec := make([]byte, wire.RecordSize(data, &extras))
	wire.PutRecord(rec, id, wire.KindBody, flags, 0, 0, data, &extras)
	p.mu.Lock()
	p.bodies = append(p.bodies, rec)
	wake := p.arm()
	p.mu.Unlock()
	if wake {
		p.wake()
	}
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
