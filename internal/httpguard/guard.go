// Package httpguard guards the byte stream an HTTP/1.1 server reads: it makes fasthttp
// at least as strict as Node's llhttp.
//
// A Listener wraps each accepted connection in a Conn whose Read hands on only bytes it
// has checked: the request line and header block strictly (CRLF line ends, known
// methods, HTTP/1.0 and HTTP/1.1, token field names, field-value bytes, no line folding,
// Host rules) and the body framing (one valid Content-Length, or Transfer-Encoding ending
// in chunked but never both; chunk sizes, extensions, data ends and trailers). A head is
// handed on only once complete, and one Read returns either complete requests or bytes
// of a single unfinished one, so a server that flushes its answers before it waits for
// more input (fasthttp does) answers pipelined requests as soon as each is complete.
//
// A request that breaks a rule is never handed on. The requests before it are, and are
// answered; then Read reports io.EOF, and when the server closes the connection, Close
// writes the answer to the refused request (status, JSON body, Connection: close). If
// the server was already reading that request (its head was handed on, its chunked body
// breaks the rules), the server's error handler answers instead: RejectionOf tells it
// what to say.
//
// The Listener also bounds the connections open at once (Config.MaxConns): beyond the
// bound a connection gets a 503 answer in the same form, and is closed.
package httpguard

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bluelibs/runner-native/internal/protocol"
)

// Rejection is a refused request: the HTTP status it is answered with, a stable
// machine-readable name and a message for people. The guard's refusals are
// internal/protocol's (protocol.Guard*), where every answer is defined.
type Rejection = protocol.Answer

var (
	errInternal = errors.New("httpguard: internal error")
	errRefused  = errors.New("httpguard: request refused") // see settle
)

// raisePanics makes Read raise the panics it recovers; the tests set it.
var raisePanics = false

// DefaultMaxHeadSize is Config.MaxHeadSize when it is not set.
const DefaultMaxHeadSize = 8192

// DefaultWriteTimeout is Config.WriteTimeout when it is not set.
const DefaultWriteTimeout = 5 * time.Second

// Config sets up a Listener.
type Config struct {
	// MaxHeadSize bounds the request line and header block together, in bytes; a larger
	// head is answered 431. It bounds a trailer section the same way (431), and one
	// chunk-size line with its extensions (413). It is also the size of the buffer a
	// connection holds while a head is incomplete.
	//
	// Default DefaultMaxHeadSize. Set it to the server's read buffer size (fasthttp's
	// ReadBufferSize) or less, so the server never meets a head it cannot buffer.
	MaxHeadSize int

	// MaxConns bounds the connections open at once. A connection beyond it is answered
	// 503 and closed at once.
	//
	// Default 0: no bound. Set it below fasthttp's Concurrency, so fasthttp's own
	// plain-text 503 is never sent.
	MaxConns int

	// Body appends the JSON body answering r to dst and returns it. It is called once
	// per answer the guard writes itself (a refused request, a connection beyond
	// MaxConns), from any goroutine, so a server can also count these answers here.
	// Answers RejectionOf hands to the server are not passed here.
	//
	// Default: {"ok":false,"error":{"code":<status>,"message":"...","codeName":"..."}}.
	Body func(dst []byte, r Rejection) []byte

	// Header holds extra header lines for every answer the guard writes, each ending in
	// CRLF (for example "Access-Control-Allow-Origin: *\r\n"). Default none.
	Header string

	// Bare answers with the status line and Connection: close alone, as Node's HTTP
	// server answers what its parser refuses (the runner protocol, whose clients must
	// see what they see from runner's own server). Body is still called, to count the
	// answer, but neither its output nor Header is sent. Default false.
	Bare bool

	// WriteTimeout bounds writing one answer. Default DefaultWriteTimeout.
	WriteTimeout time.Duration

	// ReadTimeout bounds a head that arrives in several reads on a connection that has
	// served a request already, from its first bytes; past it the head is answered 408.
	// fasthttp arms its own ReadTimeout when a request's first byte arrives, but it sees
	// a head only once complete, so meanwhile its idle timeout would apply.
	//
	// Default 0: the deadline the server set applies. Set it to fasthttp's ReadTimeout.
	ReadTimeout time.Duration
}

// Listener guards the connections of a net.Listener. Create it with NewListener.
type Listener struct {
	net.Listener
	cfg  Config
	open atomic.Int64
	bufs sync.Pool // *[]byte of stashSize bytes
}

// NewListener wraps ln: every connection it accepts is a *Conn.
func NewListener(ln net.Listener, cfg Config) *Listener {
	if cfg.MaxHeadSize <= 0 {
		cfg.MaxHeadSize = DefaultMaxHeadSize
	}
	if cfg.Body == nil {
		cfg.Body = defaultBody
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	l := &Listener{Listener: ln, cfg: cfg}
	size := l.stashSize()
	l.bufs.New = func() any { b := make([]byte, size); return &b }
	return l
}

// stashSize leaves room to read beyond a head of the largest size.
func (l *Listener) stashSize() int { return l.cfg.MaxHeadSize + 1024 }

// Accept returns the next connection within MaxConns, guarded. Connections beyond it
// are answered 503 and closed here.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := l.open.Add(1); l.cfg.MaxConns > 0 && n > int64(l.cfg.MaxConns) {
			l.open.Add(-1)
			l.refuse(c)
			continue
		}
		return &Conn{Conn: c, l: l, s: scanner{max: l.cfg.MaxHeadSize}}, nil
	}
}

func (l *Listener) refuse(c net.Conn) {
	defer func() { _ = recover() }() // Body is the caller's code: never let it stop Accept
	defer c.Close()
	l.answer(c, *protocol.GuardOverload)
}

// answer writes the whole response to r on c.
func (l *Listener) answer(c net.Conn, r Rejection) {
	var bodyBuf, headBuf [512]byte
	body := l.cfg.Body(bodyBuf[:0], r)
	b := append(headBuf[:0], "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, ' ')
	b = append(b, reason(r.Status)...)
	if l.cfg.Bare {
		b = append(b, "\r\nConnection: close\r\n\r\n"...)
		_ = c.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
		_, _ = c.Write(b)
		return
	}
	b = append(b, "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\nDate: "...)
	b = time.Now().UTC().AppendFormat(b, "Mon, 02 Jan 2006 15:04:05 GMT")
	b = append(b, "\r\n"...)
	b = append(b, l.cfg.Header...)
	b = append(b, "\r\n"...)
	b = append(b, body...)
	_ = c.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
	_, _ = c.Write(b)
}

func reason(status int) string {
	switch status {
	case 400:
		return "Bad Request"
	case 408:
		return "Request Timeout"
	case 413:
		return "Content Too Large"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}

func defaultBody(dst []byte, r Rejection) []byte {
	dst = append(dst, `{"ok":false,"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, `,"message":"`...)
	dst = append(dst, r.Message...) // plain ASCII without quotes or backslashes
	dst = append(dst, `","codeName":"`...)
	dst = append(dst, r.Code...)
	return append(dst, `"}}`...)
}

// Conn is a guarded connection: Read hands on only checked bytes (see the package
// documentation). Everything else is the wrapped connection's; SyscallConn and CloseWrite
// reach it too.
type Conn struct {
	net.Conn
	l *Listener
	s scanner

	// The stash holds what was read but not handed on yet: buf[off:w] is checked output,
	// buf[r:end] an unfinished line. It is taken from the listener's pool only while it
	// holds something, so an idle connection holds no buffer.
	buf                *[]byte
	off, w, r, end     int
	final              error // returned once everything that may be handed on has been
	mu                 sync.Mutex
	pending            *Rejection // a refusal still to be answered
	pendingMid, closed bool
}

// Read fills p with checked bytes of the request stream.
func (c *Conn) Read(p []byte) (n int, err error) {
	defer func() {
		if r := recover(); r != nil { // a bug here must close one connection, not the process
			if raisePanics {
				panic(r)
			}
			c.dropStash()
			c.final = errInternal
			n, err = 0, errInternal
		}
	}()
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if c.buf != nil {
			if n := c.deliver(p); n > 0 {
				return n, nil
			}
			if c.final != nil {
				c.dropStash()
				return 0, c.final
			}
			if c.buf != nil { // else it was empty, and is back in the pool
				c.fill()
				continue
			}
		}
		if c.final != nil {
			return 0, c.final
		}
		n, err := c.Conn.Read(p[:c.readSize(len(p))])
		lim := 0
		if n > 0 {
			lim = c.scan(p, n)
		}
		if err != nil {
			c.fail(err)
		}
		if lim > 0 {
			return lim, nil
		}
	}
}

// readSize limits a read straight into the caller's buffer, so that whatever follows
// the bytes handed on fits in the stash. Inside a large body it reads up to the end of
// that body or chunk.
func (c *Conn) readSize(n int) int {
	limit := c.l.stashSize()
	if c.s.st == stBody || c.s.st == stChunkData {
		if c.s.remain > uint64(limit) {
			limit = int(min(c.s.remain, uint64(n)))
		}
	}
	return min(n, limit)
}

// scan checks p[:n], read straight into the caller's buffer, in place. It returns how
// many bytes of p may be handed on; what follows them goes to the stash.
func (c *Conn) scan(p []byte, n int) int {
	c.s.done = 0
	r, w := c.s.process(p, 0, 0, n)
	lim := c.limit(0, w)
	c.handed(0, lim)
	if c.settle() || (lim == w && r == n) {
		return lim
	}
	c.buf = c.l.bufs.Get().(*[]byte)
	b := *c.buf
	c.off, c.w = 0, copy(b, p[lim:w])
	c.r, c.end = c.w, c.w+copy(b[c.w:], p[r:n])
	c.s.done = 0
	return lim
}

// limit returns where the bytes that may be handed on end, output being b[off:w]: after
// the last complete request, or at w when all of it belongs to one request whose head is
// complete.
func (c *Conn) limit(off, w int) int {
	switch {
	case c.s.done > off:
		return c.s.done
	case c.s.inBody():
		return w
	}
	return off
}

// handed notes that output [from, to) was handed on.
func (c *Conn) handed(from, to int) {
	if to > from && to > c.s.done {
		c.s.partDelivered = true
	}
}

// settle records a refusal the scanner found, and ends reading after it or after a
// request that closes the connection. It reports whether reading has ended.
//
// Reading ends with io.EOF, on which fasthttp closes quietly (and Close answers), except
// inside a request fasthttp is reading: there io.EOF where a chunk-size line should
// start would look like a client that left, so it gets an error, and its error handler
// answers.
func (c *Conn) settle() bool {
	if c.final != nil {
		return true
	}
	switch c.s.st {
	case stRejected:
		c.mu.Lock()
		c.pending, c.pendingMid = c.s.rej, c.s.partDelivered
		c.mu.Unlock()
		c.final = io.EOF
		if c.s.partDelivered {
			c.final = errRefused
		}
	case stClosed:
		c.final = io.EOF
	default:
		return false
	}
	return true
}

// deliver copies what may be handed on from the stash into p.
func (c *Conn) deliver(p []byte) int {
	lim := c.limit(c.off, c.w)
	n := copy(p, (*c.buf)[c.off:lim])
	c.handed(c.off, c.off+n)
	c.off += n
	if c.off == c.w && c.r == c.end {
		c.dropStash()
	}
	return n
}

// fill reads more input into the stash, whose output cannot be handed on yet (an
// unfinished head or line), and checks it.
func (c *Conn) fill() {
	b := *c.buf
	out := copy(b, b[c.off:c.w])
	c.off, c.w, c.r, c.end = 0, out, out, out+copy(b[out:], b[c.r:c.end])
	c.s.done = 0
	if c.end == len(b) { // cannot happen: the scanner's limits keep a byte free
		c.s.reject(protocol.GuardHeadTooLarge)
		c.settle()
		return
	}
	if c.s.holdsHead() && c.s.served && !c.s.armed && c.l.cfg.ReadTimeout > 0 {
		c.s.armed = true
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.l.cfg.ReadTimeout))
	}
	n, err := c.Conn.Read(b[c.end:])
	if n > 0 {
		c.end += n
		c.r, c.w = c.s.process(b, c.r, c.w, c.end)
		if c.settle() {
			c.w = max(c.s.done, c.off)
		}
	}
	if err != nil {
		c.fail(err)
	}
}

// fail ends reading on a read error. A timeout while a head is incomplete is answered
// 408 by the guard: the server has seen nothing of that request.
func (c *Conn) fail(err error) {
	if c.final != nil {
		return
	}
	var ne net.Error
	if c.s.holdsHead() && errors.As(err, &ne) && ne.Timeout() {
		c.s.reject(protocol.GuardTimeout)
		c.settle()
		return
	}
	c.final = err
}

func (c *Conn) dropStash() {
	if c.buf != nil {
		c.l.bufs.Put(c.buf)
		c.buf, c.off, c.w, c.r, c.end = nil, 0, 0, 0, 0
	}
}

// Close writes the answer to a refused request the server has not answered, then
// closes the connection. It may be called more than once, from any goroutine.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	r, mid := c.pending, c.pendingMid
	c.pending = nil
	c.mu.Unlock()
	c.l.open.Add(-1)
	if r != nil && !mid {
		func() {
			defer func() { _ = recover() }() // Body is the caller's code
			c.l.answer(c.Conn, *r)
		}()
	}
	return c.Conn.Close()
}

// RejectionOf returns the refusal of the request the server is reading on c, if the
// guard refused it after handing on part of it (say, its head, when its chunked body
// breaks the rules). The server's error handler should then answer with it. Any call
// also takes over the guard's duty to answer a refused request on c: the server is
// answering with an error and closing, and a second answer would follow it.
func RejectionOf(c net.Conn) (Rejection, bool) {
	g, ok := c.(*Conn)
	if !ok {
		return Rejection{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	r, mid := g.pending, g.pendingMid
	g.pending = nil
	if r == nil || !mid {
		return Rejection{}, false
	}
	return *r, true
}

// SyscallConn returns the wrapped connection's raw connection, if it has one.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite shuts down the writing side of the wrapped connection, if it can.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
