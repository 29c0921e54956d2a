package server

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/wire"
)

// Observation: every answered request is timed into the latency histogram (always: two
// atomic adds) and, when the configuration asks for it (onRequests), recorded for
// JavaScript's access log. A JSON answer is observed when the handler has decided it; a
// streamed answer when its stream is over (written, cut or abandoned), so that its
// duration and bytes are the stream's.

// Recorder receives the access record of each answered request when the configuration
// asks for them (config.AccessLog). An Invoker may implement it. Record copies what it
// keeps of a (the caller reuses it) and must stay bounded however many come: it may drop
// records, counting them.
type Recorder interface {
	Record(a *wire.Access)
}

// observe times (and records) the answer of r, unless it is a stream: observedStream
// does it when the stream closes. It never panics into the request.
func (s *Server) observe(r *request) {
	defer func() { _ = recover() }()
	if r.streamed {
		return
	}
	ctx := r.ctx
	took := time.Since(ctx.Time())
	var a *access
	if s.recorder != nil {
		a = accessPool.Get().(*access)
		a.fill(r, ctx.Response.StatusCode(), bodyBytesIn(r))
	}
	s.answered(took, a, int64(len(ctx.Response.Body())))
}

// answered counts an answer that took took in the latency histogram and, with a (the
// server makes records), records it with its bytesOut and gives a back to its pool.
func (s *Server) answered(took time.Duration, a *access, bytesOut int64) {
	s.stats.Latency.Observe(took)
	if a == nil {
		return
	}
	a.Duration, a.BytesOut = took, bytesOut
	s.recorder.Record(&a.Access)
	accessPool.Put(a)
}

// bodyBytesIn returns how many bytes of the request body the server has read.
func bodyBytesIn(r *request) int64 {
	switch c := r.c; {
	case c.Body != nil:
		return int64(c.stream.total)
	case r.ctx.Request.IsBodyStream():
		return int64(len(c.body)) // what readBody read; nothing if unread
	default:
		return int64(len(r.ctx.Request.Body()))
	}
}

// access is a wire.Access whose strings it owns: a streamed answer's record outlives
// its request.
type access struct {
	wire.Access
	strs []byte
}

var accessPool = sync.Pool{New: func() any { return new(access) }}

// fill copies what r says of the request into a.
func (a *access) fill(r *request, status int, bytesIn int64) {
	ctx, c := r.ctx, r.c
	a.strs = a.strs[:0]
	a.Method, a.strs = a.own(ctx.Method())
	a.Path, a.strs = a.own(ctx.Request.URI().PathOriginal())
	a.ID, a.strs = a.own(c.ID)
	a.RequestID, a.strs = a.own(c.Extras[wire.ExtraRequestID])
	a.Time, a.Status, a.BytesIn, a.Kind = ctx.Time(), status, bytesIn, 0
	if c.Op == OpTask || c.Op == OpEvent {
		a.Kind = byte(c.Op)
	}
	a.Remote = netipOf(ctx.RemoteAddr())
}

// own appends b (cut to wire.AccessMaxString) to a.strs and returns its copy there.
// The copies of one record share a.strs: a later append that moves it would leave the
// earlier ones in the old array, which stays valid, so each copy is still right.
func (a *access) own(b []byte) ([]byte, []byte) {
	if len(b) > wire.AccessMaxString {
		b = b[:wire.AccessMaxString]
	}
	at := len(a.strs)
	strs := append(a.strs, b...)
	return strs[at:len(strs):len(strs)], strs
}

// observedStream is the answer stream fasthttp writes, counted and observed when it
// closes. One per streamed answer, never pooled: whatever closes it late (twice, or
// after the answer was dropped) finds it closed, never another answer's.
type observedStream struct {
	inner  io.ReadCloser
	s      *Server
	start  time.Time
	out    int64
	a      *access     // nil when the server makes no records
	duplex *bodyReader // a request body still read beside the answer: counted at the end
	closed bool
}

// observeStream returns the stream to hand fasthttp for r's streamed answer.
func (s *Server) observeStream(r *request, inner io.ReadCloser, status int) io.ReadCloser {
	o := &observedStream{inner: inner, s: s, start: r.ctx.Time()}
	if s.recorder != nil {
		o.a = accessPool.Get().(*access)
		o.a.fill(r, status, bodyBytesIn(r))
		if r.c.Duplex() {
			o.duplex = &r.c.stream // the call is not pooled while its stream reads (releaseCall)
		}
	}
	r.streamed = true
	return o
}

func (o *observedStream) Read(p []byte) (int, error) {
	n, err := o.inner.Read(p)
	o.out += int64(n)
	return n, err
}

// WriteTo counts what the inner stream writes through its own WriteTo.
func (o *observedStream) WriteTo(w io.Writer) (int64, error) {
	wt, ok := o.inner.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{o})
	}
	n, err := wt.WriteTo(w)
	o.out += n
	return n, err
}

// SupportsBodyWriteTo passes on the inner stream's choice (fasthttp.BodyWriterTo):
// WriteTo adds nothing but counting.
func (o *observedStream) SupportsBodyWriteTo() bool {
	b, ok := o.inner.(fasthttp.BodyWriterTo)
	return ok && b.SupportsBodyWriteTo()
}

// Close closes the inner stream, then observes the answer (once).
func (o *observedStream) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	err := o.inner.Close()
	func() {
		defer func() { _ = recover() }()
		if o.a != nil && o.duplex != nil {
			o.a.BytesIn = int64(o.duplex.total) // the feeder has returned: inner.Close waited for it
		}
		o.s.answered(time.Since(o.start), o.a, o.out)
		o.a = nil
	}()
	return err
}

var _ fasthttp.BodyWriterTo = (*observedStream)(nil)

// netipOf returns a TCP address as a netip.AddrPort (the zero value for others).
func netipOf(addr net.Addr) (ap netip.AddrPort) {
	if t, ok := addr.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return ap
}
