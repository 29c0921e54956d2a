package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/multipart"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Request bodies. fasthttp streams them (StreamRequestBody): it reads the first bytes
// with the head and leaves the rest on the connection, so that the server decides when
// and how much to read.
//
//   - A JSON body is read whole, at most maxBodySize bytes, where the protocol reads it:
//     the seed protocol before anything else (413 first, as it always answered), runner's
//     once method, auth, exposure and id have passed, as runner does.
//   - An application/octet-stream body is handed to the handler as a stream (ctx.body),
//     read only as JavaScript asks for it, at most maxStreamBodySize bytes.
//   - A multipart/form-data body (runner protocol: file uploads) is read up to its
//     manifest here; its file parts then go to the handler as streams, read as
//     JavaScript asks for them (internal/bridge), within the same maxStreamBodySize.

// readBody reads the whole request body, at most MaxBodySize bytes. On failure it has
// answered: 413 past the limit; when the client stalls (408) or sends a broken body
// (400), the seed protocol's envelope, or Node's bare answer in runner mode (Node's HTTP
// server answers these before runner's exposure runs).
//
// The buffer grows with the bytes that arrive, never with the Content-Length announced:
// a client may claim 10 MiB and send 8 KiB, on as many connections as it likes. It is
// the call's pooled buffer (kept across calls up to maxPooledBuf).
func (s *Server) readBody(r *request) ([]byte, bool) {
	ctx, c := r.ctx, r.c
	c.bodyTaken = true
	if !ctx.Request.IsBodyStream() {
		return ctx.PostBody(), true
	}
	limit := s.cfg.MaxBodySize
	var num [20]byte
	tooLarge := func() ([]byte, bool) {
		ctx.SetConnectionClose()
		s.fail(r, protocol.PayloadTooLarge, strconv.AppendInt(num[:0], int64(limit), 10))
		return nil, false
	}
	size := ctx.Request.Header.ContentLength() // -1: chunked
	if size > limit {
		return tooLarge()
	}
	s.bodyDeadline(r)
	buf := c.body[:0]
	stream := ctx.RequestBodyStream()
	for {
		if len(buf) == cap(buf) {
			buf = growBody(buf, size, limit)
		}
		n, err := stream.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			c.body = buf[:0]
			return tooLarge()
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.body = buf[:0]
			s.bodyFailed(r, err)
			return nil, false
		}
	}
	c.body = buf
	return buf, true
}

// minBodyBuf is the first size of a body buffer that has none yet.
const minBodyBuf = 4 << 10

// growBody returns buf (full) with room for more: twice its capacity, so that a body
// costs at most about twice the bytes received, but never more than the announced size
// (size, -1 when unknown) or the limit, plus one byte to see the end or the excess.
func growBody(buf []byte, size, limit int) []byte {
	n := max(2*cap(buf), minBodyBuf)
	if size >= 0 {
		n = min(n, size+1)
	}
	n = max(min(n, limit+1), cap(buf)+1)
	grown := make([]byte, len(buf), n)
	copy(grown, buf)
	return grown
}

// maxDrainedBody is the largest unread body of a refused request that is skipped to
// keep its connection (fasthttp reads and drops it after the answer is sent, into no
// buffer). A larger one, or one of unknown size (chunked), closes the connection.
const maxDrainedBody = 64 << 10

// unreadBody runs when a request is done: one refused before its body was read (no
// route, auth, method, exposure, id) closes its connection, as a 413 does, unless its
// body is small enough to skip. Reading the rest of a large body to keep a connection
// would let anyone make the server read, for nothing, whatever it announces; the
// lingering close (linger.go) still lets the client read its answer.
func (s *Server) unreadBody(r *request) {
	if r.c.bodyTaken || !r.ctx.Request.IsBodyStream() {
		return
	}
	if n := r.ctx.Request.Header.ContentLength(); n >= 0 && n <= maxDrainedBody {
		return
	}
	r.ctx.SetConnectionClose()
}

// bodyFailed answers a body that stalled (408) or broke (400, or the guard's refusal).
func (s *Server) bodyFailed(r *request, err error) {
	s.refuseUnread(r, err, s.pastRequestDeadline(r))
}

// streamBody hands the request body to the call as a stream (ctx.body in JavaScript).
func (s *Server) streamBody(r *request) {
	c, ctx := r.c, r.ctx
	c.bodyTaken = true
	var src io.Reader
	if ctx.Request.IsBodyStream() {
		src = ctx.RequestBodyStream()
	} else {
		src = bytes.NewReader(ctx.PostBody())
	}
	c.stream = bodyReader{
		src: src, conn: ctx.Conn(), timeout: config.Millis(s.cfg.ReadTimeoutMs),
		deadline: s.requestDeadline(r),
		size:     ctx.Request.Header.ContentLength(), limit: s.cfg.MaxStreamBodySize,
	}
	c.Body = &c.stream
}

// requestDeadline is when the whole request must have arrived (requestTimeoutMs,
// counted from its head), or zero (no limit).
func (s *Server) requestDeadline(r *request) time.Time {
	if s.cfg.RequestTimeoutMs <= 0 {
		return time.Time{}
	}
	return r.ctx.Time().Add(config.Millis(s.cfg.RequestTimeoutMs))
}

// pastRequestDeadline reports whether the request's whole deadline has passed (its
// 408 then names requestTimeoutMs rather than readTimeoutMs).
func (s *Server) pastRequestDeadline(r *request) bool {
	d := s.requestDeadline(r)
	return !d.IsZero() && !time.Now().Before(d)
}

// bodyDeadline applies requestTimeoutMs to a body read whole. fasthttp's read deadline,
// set when the head arrived (readTimeoutMs), bounds it already unless the request's
// own deadline comes sooner.
func (s *Server) bodyDeadline(r *request) {
	if s.cfg.RequestTimeoutMs > 0 && s.cfg.RequestTimeoutMs < s.cfg.ReadTimeoutMs {
		_ = r.ctx.Conn().SetReadDeadline(s.requestDeadline(r))
	}
}

// bodyTimedOut answers a call whose streamed body did not arrive in time: 408, as a
// body read whole that stalls (bodyFailed), in place of what the handler made of its
// failed body (Node answers requestTimeout itself, whatever the handler does). An
// answer already streaming is left to run; the connection closes after it.
func (s *Server) bodyTimedOut(r *request) bool {
	c := r.c
	if c.Body == nil || !c.stream.timedOut.Load() || c.Outcome == Streaming {
		return false
	}
	s.bodyFailed(r, os.ErrDeadlineExceeded)
	return true
}

// ErrBodyTooLarge: a streamed body went past maxStreamBodySize.
var ErrBodyTooLarge = errors.New("server: the request body exceeds maxStreamBodySize")

// bodyReader is a streamed request body: each read bounded by the read timeout (a long
// upload is bounded per read, not as a whole) and by the request's deadline
// (requestTimeoutMs: the whole upload), the whole by maxStreamBodySize, and a body
// shorter than its Content-Length an error (the client went away).
type bodyReader struct {
	src      io.Reader
	conn     net.Conn
	timeout  time.Duration
	deadline time.Time // of the whole request; zero: none
	size     int       // Content-Length, or -1 (chunked)
	limit    int       // 0: none
	total    int
	eof      bool        // read to its end
	timedOut atomic.Bool // a read failed on a deadline (set by the reader, read by the server)
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.conn != nil && (b.timeout > 0 || !b.deadline.IsZero()) {
		d := b.deadline
		if b.timeout > 0 {
			if next := time.Now().Add(b.timeout); d.IsZero() || next.Before(d) {
				d = next
			}
		}
		_ = b.conn.SetReadDeadline(d)
	}
	n, err := b.src.Read(p)
	b.total += n
	if b.limit > 0 && b.total > b.limit {
		return n, ErrBodyTooLarge
	}
	if errors.Is(err, io.EOF) {
		if b.size >= 0 && b.total < b.size {
			return n, io.ErrUnexpectedEOF // cut short: the client went away
		}
		b.eof = true
	}
	var netErr net.Error
	if err != nil && errors.As(err, &netErr) && netErr.Timeout() {
		b.timedOut.Store(true)
	}
	return n, err
}

// BodyLimit is the largest streamed body the call may have (maxStreamBodySize; 0: none).
func (c *Call) BodyLimit() int { return c.stream.limit }

// bodyRead reports whether a streamed request body was read to its end (else the
// connection must close after the answer). A JSON body is always read whole.
func (s *Server) bodyRead(r *request) bool { return r.c.Body == nil || r.c.stream.eof }

// maxEarlyBytes bounds the file bytes kept before a form's manifest.
const maxEarlyBytes = 16 * wire.BodyChunk

// maxEarlyParts bounds how many file parts may come before the manifest.
const maxEarlyParts = 64

// multipartBody reads a multipart form (runner's file uploads) up to its manifest, which
// becomes the call's input, as runner's task starts once it has the manifest. The file
// parts before it (runner's client sends none) are kept whole, within bounds. The rest
// of the form is read by the bridge as the task reads its files. On failure it has
// answered, as runner does.
func (s *Server) multipartBody(r *request) bool {
	c := r.c
	needle, ok := multipart.Needle(r.ctx.Request.Header.ContentType())
	if !ok {
		s.refuseForm(r, protocol.FormInvalid)
		return false
	}
	s.streamBody(r)
	form := multipart.NewReader(c.Body, needle, s.cfg.Multipart)
	kept := 0
	for {
		p, err := form.Next()
		if err == io.EOF {
			err = protocol.FormMissingManifest
		}
		if err != nil {
			s.formFailed(r, err)
			return false
		}
		if p.Manifest {
			c.Input, c.HasInput, c.Parts = p.Value, true, form
			return true
		}
		e := EarlyPart{Part: multipart.Part{ID: clone(p.ID), Filename: clone(p.Filename), FilenameCharset: clone(p.FilenameCharset), Type: clone(p.Type)}}
		// What is kept counts its names too, and the parts themselves: a form of many
		// empty parts with long names must not grow without bound either.
		kept += len(p.ID) + len(p.Filename) + len(p.FilenameCharset) + len(p.Type)
		if len(c.Early) == maxEarlyParts || kept > maxEarlyBytes {
			s.refuseForm(r, protocol.FormEarlyFile)
			return false
		}
		for {
			b, err := form.Read(wire.BodyChunk + 1 - len(e.Data))
			if err == io.EOF {
				break
			}
			if err != nil {
				s.formFailed(r, err)
				return false
			}
			e.Data = append(e.Data, b...)
			kept += len(b)
			if len(e.Data) > wire.BodyChunk || kept > maxEarlyBytes {
				s.refuseForm(r, protocol.FormEarlyFile)
				return false
			}
		}
		c.Early = append(c.Early, e)
	}
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// formFailed answers a form that failed before its manifest: runner's refusal, 413 past
// maxStreamBodySize, or the body's own failure.
func (s *Server) formFailed(r *request, err error) {
	var num [20]byte
	if f, ok := multipart.Failed(err); ok {
		s.refuseForm(r, f)
		return
	}
	r.ctx.SetConnectionClose()
	if errors.Is(err, ErrBodyTooLarge) {
		s.fail(r, protocol.PayloadTooLarge, strconv.AppendInt(num[:0], int64(s.cfg.MaxStreamBodySize), 10))
		return
	}
	s.bodyFailed(r, err)
}

// isMultipart reports what runner takes for a multipart/form-data body (its file
// uploads): a content type that mentions it anywhere (/multipart\/form-data/i).
func isMultipart(ct []byte) bool {
	const t = "multipart/form-data"
	for i := 0; i+len(t) <= len(ct); i++ {
		if (ct[i] == 'm' || ct[i] == 'M') && bytes.EqualFold(ct[i:i+len(t)], []byte(t)) {
			return true
		}
	}
	return false
}

func isOctetStream(ct []byte) bool {
	const t = "application/octet-stream"
	return hasPrefixFold(ct, t) && (len(ct) == len(t) || ct[len(t)] == ';')
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
