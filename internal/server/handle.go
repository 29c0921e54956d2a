package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/ascii"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/wire"
)

var (
	contentTypeJSON = []byte("application/json; charset=utf-8")
	methodPost      = []byte(fasthttp.MethodPost)
	methodGet       = []byte(fasthttp.MethodGet)
	methodOptions   = []byte(fasthttp.MethodOptions)
)

// The parts of a request every step needs, read once.
type request struct {
	ctx    *fasthttp.RequestCtx
	c      *Call
	origin []byte // the Origin header, nil when absent
	allow  []byte // Access-Control-Allow-Origin chosen by JavaScript (dynamic policies)
	asked  bool   // JavaScript was asked for allow already
}

// invoke runs the handler, keeping the in-flight gauge right even if Invoke panics.
func (s *Server) invoke(c *Call) {
	s.stats.InFlight.Add(1)
	defer s.stats.InFlight.Add(-1)
	s.inv.Invoke(c)
}

// ask sends a check to JavaScript and waits for its verdict. A check that cannot be
// answered (overload, timeout, shutdown) is a refusal, with answered false: it says
// nothing about the request, so it must not be remembered.
func (s *Server) ask(r *request, what uint16, extras func(c *Call)) (allow bool, value []byte, answered bool) {
	q := acquireCall()
	defer releaseCall(q)
	q.Op, q.Check, q.Header, q.Conn = OpCheck, what, &r.ctx.Request.Header, r.ctx.Conn()
	extras(q)
	s.invoke(q)
	if q.Outcome != Verdict {
		return false, nil, false
	}
	if !q.Allow {
		return false, nil, true
	}
	return true, append(r.allow[:0], q.Value...), true
}

// authorize applies the auth policy: a listed token, else the JavaScript validator,
// else (no policy at all) open for the seed protocol, allowAnonymous or
// AUTH_NOT_CONFIGURED for runner's. ok false comes with the failure to answer.
func (s *Server) authorize(r *request, path []byte) (protocol.Failure, bool) {
	a := &s.cfg.Auth
	if len(s.tokens) > 0 {
		token := r.ctx.Request.Header.Peek(a.Header)
		if s.dialect.Runner() {
			token = nodeHeader(&r.c.hdr, &r.ctx.Request.Header, a.Header)
		}
		sum := sha256.Sum256(token)
		match := 0
		for i := range s.tokens {
			match |= subtle.ConstantTimeCompare(sum[:], s.tokens[i][:])
		}
		if match == 1 {
			return 0, true
		}
	}
	if a.Validator {
		ok, _, _ := s.ask(r, wire.CheckAuth, func(q *Call) {
			// runner's validators see the request id among the headers (it writes it there).
			q.Extras[wire.ExtraRequestID] = r.c.Extras[wire.ExtraRequestID]
			q.Extras[wire.ExtraMethod] = r.ctx.Method()
			q.Extras[wire.ExtraURL] = r.ctx.Request.Header.RequestURI()
			q.Extras[wire.ExtraPath] = path
		})
		if ok {
			return 0, true
		}
	}
	if !a.Required() {
		if !s.dialect.Runner() || a.AllowAnonymous {
			return 0, true
		}
		return protocol.AuthNotConfigured, false
	}
	return protocol.Unauthorized, false
}

// noticeAuthFailure counts a refused request and tells JavaScript about it, for its
// logs. The record is built in a pooled buffer: the notifier copies what it keeps (at
// most one record per port; the rest are counted, see bridge.Port.Notify), so a flood
// of refused requests allocates nothing per request.
func (s *Server) noticeAuthFailure(r *request, path []byte, f protocol.Failure) {
	s.stats.AuthFailures.Add(1)
	n, ok := s.inv.(Notifier)
	if !ok || !s.cfg.AuthFailureNotices {
		return
	}
	var extras [wire.ExtraCount][]byte
	extras[wire.ExtraRequestID] = r.c.Extras[wire.ExtraRequestID]
	extras[wire.ExtraMethod] = r.ctx.Method()
	extras[wire.ExtraPath] = path
	extras[wire.ExtraCode] = []byte(s.dialect.Code(f))
	size := wire.RecordSize(nil, &extras)
	bp := noticeBufs.Get().(*[]byte)
	rec := slices.Grow((*bp)[:0], size)[:size]
	wire.PutRecord(rec, 0, wire.KindNotice, 0, wire.NoticeAuthFailure, uint32(s.dialect.Status(f)), nil, &extras)
	n.Notify(rec)
	if cap(rec) <= maxPooledBuf {
		*bp = rec
		noticeBufs.Put(bp)
	}
}

// noticeBufs are the buffers notice records are built in (Notify copies what it keeps).
var noticeBufs = sync.Pool{New: func() any { return new([]byte) }}

// allowOrigin returns JavaScript's choice of Access-Control-Allow-Origin when the policy
// is dynamic (asked once per request, remembered per origin for a RegExp when JavaScript
// answered).
func (s *Server) allowOrigin(r *request) []byte {
	if !s.cors.Dynamic() || r.asked {
		return r.allow
	}
	r.asked = true
	if s.cfg.CORS.Cacheable {
		if len(r.origin) == 0 {
			return nil
		}
		if v, ok := s.origins.get(r.origin); ok {
			r.allow = append(r.allow[:0], v...)
			return r.allow
		}
	}
	_, allow, answered := s.ask(r, wire.CheckOrigin, func(q *Call) {
		if r.origin != nil {
			q.Extras[wire.ExtraOrigin] = r.origin
		}
	})
	r.allow = allow
	// Only JavaScript's answer is remembered: a check that failed (503 overload,
	// taskTimeoutMs, shutdown) refuses this request alone.
	if s.cfg.CORS.Cacheable && answered {
		s.origins.put(r.origin, r.allow)
	}
	return r.allow
}

func (s *Server) setCORS(r *request) {
	s.cors.Actual(&r.ctx.Response.Header, r.origin, s.allowOrigin(r))
}

func (s *Server) preflight(r *request, routeMethods string) {
	h := &r.ctx.Response.Header
	s.cors.Preflight(h, r.origin, s.allowOrigin(r), r.ctx.Request.Header.Peek(fasthttp.HeaderAccessControlRequestHeaders), routeMethods)
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	if s.dialect.Runner() {
		h.SetContentLength(0)
	}
	s.stats.count(fasthttp.StatusNoContent)
}

// reply writes a JSON answer (the body is copied).
func (s *Server) reply(r *request, status int, body []byte) {
	ctx := r.ctx
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	if s.dialect.Runner() {
		ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
		ctx.Response.Header.Set("X-Frame-Options", "DENY")
	}
	ctx.Response.SetBody(body)
	s.stats.count(status)
}

// fail answers failure f, whose message takes arg.
func (s *Server) fail(r *request, f protocol.Failure, arg []byte) {
	c := r.c
	c.msg = s.dialect.AppendMessage(c.msg[:0], f, arg)
	var status int
	c.out, status = s.dialect.AppendFailure(c.out[:0], f, c.msg)
	s.reply(r, status, c.out)
}

// answer writes the answer recorded on the call (after Invoke).
func (s *Server) answer(r *request, wantResult bool) {
	c := r.c
	switch c.Outcome {
	case Result:
		if wantResult {
			c.out = protocol.AppendResult(c.out[:0], c.Result)
		} else {
			c.out = protocol.AppendOK(c.out[:0])
		}
		s.reply(r, fasthttp.StatusOK, c.out)
	case NoResult:
		c.out = protocol.AppendOK(c.out[:0])
		s.reply(r, fasthttp.StatusOK, c.out)
	case HandlerErr:
		var status int
		c.out, status = s.dialect.AppendHandlerError(c.out[:0], &c.Err)
		s.reply(r, status, c.out)
	case Failed:
		s.fail(r, c.Failure, c.FailArg)
	case Streaming:
		s.writeStream(r)
	default:
		s.fail(r, protocol.InternalPanic, nil)
	}
	if c.Outcome == Failed && c.Failure == protocol.ClosedBeforeAnswer {
		r.ctx.SetConnectionClose()
	}
}

func (s *Server) recoverPanic(r *request) {
	if v := recover(); v != nil {
		s.stats.Panics.Add(1)
		r.ctx.Response.Reset()
		r.asked, r.allow = true, nil // never call JavaScript from a broken state
		s.setCORS(r)
		s.fail(r, protocol.InternalPanic, nil)
	}
}

// handleError answers what fasthttp could not parse or read (refuseUnread). The
// connection is closed after this response.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	s.stats.Requests.Add(1)
	c := acquireCall()
	defer releaseCall(c)
	r := &request{ctx: ctx, c: c, origin: ctx.Request.Header.Peek(fasthttp.HeaderOrigin)}
	if !s.dialect.Runner() {
		s.setCORS(r)
	}
	s.refuseUnread(r, err, false)
}

// originCache remembers a RegExp policy's answers, per origin, up to a bound.
type originCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

const originCacheSize = 1024

func (oc *originCache) get(origin []byte) ([]byte, bool) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	v, ok := oc.m[string(origin)]
	return v, ok
}

func (oc *originCache) put(origin, allow []byte) {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if oc.m == nil || len(oc.m) >= originCacheSize {
		oc.m = make(map[string][]byte)
	}
	oc.m[string(origin)] = append([]byte(nil), allow...)
}

// memberName is the body member that carries a seed call's argument.
func memberName(op Op) string {
	if op == OpEvent {
		return "payload"
	}
	return "input"
}

// Headers a streamed answer may not set: runner's security list (respondStream in
// src/node/exposure/httpResponse.ts@5.5.0), and the framing headers the server owns.
var blockedStreamHeaders = map[string]bool{
	"set-cookie": true, "access-control-allow-origin": true, "access-control-allow-credentials": true,
	"x-content-type-options": true, "x-frame-options": true,
	"content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"upgrade": true, "trailer": true, "te": true,
}

// writeStream answers with the handler's stream: its status and headers now, its bytes
// as they come (chunked), read by fasthttp through the call's stream. Every name and
// value is checked first: one that HTTP cannot carry fails the call as Node's setHeader
// fails it (500, before any byte), so a handler never sends a header it did not set.
func (s *Server) writeStream(r *request) {
	c, h := r.c, &r.ctx.Response.Header
	var ok bool
	if c.FailArg, ok = checkStreamHeaders(c.FailArg[:0], c.StreamHeaders); !ok {
		refuseStream(c.Stream)
		s.fail(r, protocol.UnencodableResult, c.FailArg)
		return
	}
	status := c.StreamStatus
	if status < 100 || status > 599 {
		status = fasthttp.StatusOK
	}
	r.ctx.SetStatusCode(status)
	setStreamHeaders(h, c.StreamHeaders)
	if s.dialect.Runner() {
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
	}
	if r.ctx.Request.Header.IsHTTP11() {
		r.ctx.Response.SetBodyStream(c.Stream, -1)
	} else {
		s.writeUntilClose(r, c.Stream)
	}
	s.stats.count(status)
}

// writeUntilClose answers an HTTP/1.0 request's stream: HTTP/1.0 has no chunked coding
// (RFC 9112 §6.1), so the body is delimited by the connection's close, as node:http
// does: no Content-Length, no Transfer-Encoding, Connection: close. fasthttp frames a
// body stream of unknown size chunked whatever the request's version, so the server
// takes the connection over (hijack, no response of fasthttp's) and writes the head
// and the stream itself; fasthttp closes the connection once this returns. The stream
// is closed here, after its last write, as fasthttp would have.
func (s *Server) writeUntilClose(r *request, stream io.ReadCloser) {
	h := &r.ctx.Response.Header
	h.SetContentLength(-2) // identity: neither Content-Length nor Transfer-Encoding
	h.SetConnectionClose()
	head := append([]byte(nil), h.Header()...)
	r.ctx.HijackSetNoResponse(true)
	r.ctx.Hijack(func(conn net.Conn) {
		defer func() {
			_ = recover() // never let a panic of this goroutine reach Node
			_ = stream.Close()
		}()
		if _, err := conn.Write(head); err != nil {
			return
		}
		if wt, ok := stream.(io.WriterTo); ok {
			_, _ = wt.WriteTo(conn)
		} else {
			_, _ = io.Copy(conn, stream)
		}
	})
}

// setStreamHeaders sets the headers checkStreamHeaders accepted, but the ones a handler
// may not set (blockedStreamHeaders).
func setStreamHeaders(h *fasthttp.ResponseHeader, headers []byte) {
	for rest := headers; len(rest) > 0; {
		name, value, next, _ := wire.NextHeader(rest) // checked: whole pairs
		rest = next
		switch lower := strings.ToLower(string(name)); {
		case lower == "content-type":
			h.SetContentTypeBytes(value)
		case blockedStreamHeaders[lower]:
		default:
			h.AddBytesKV(name, value)
		}
	}
}

// checkStreamHeaders checks the headers of a streamed answer (wire.NextHeader pairs):
// each name an RFC 9110 token, each value a field-value (ascii.IsFieldValue). For the
// first that is not, it appends Node's message for it to dst (ERR_INVALID_HTTP_TOKEN,
// ERR_INVALID_CHAR) and returns false.
func checkStreamHeaders(dst, headers []byte) ([]byte, bool) {
	for rest := headers; len(rest) > 0; {
		name, value, next, ok := wire.NextHeader(rest)
		switch {
		case !ok: // JavaScript and Go disagree on the encoding: a bug, refused all the same
			return append(dst, "Invalid headers"...), false
		case !ascii.IsToken(name):
			dst = append(dst, `Header name must be a valid HTTP token ["`...)
			return append(appendLatin1(dst, name), `"]`...), false
		case !ascii.IsFieldValue(value):
			dst = append(dst, `Invalid character in header content ["`...)
			return append(append(dst, name...), `"]`...), false
		}
		rest = next
	}
	return dst, true
}

// appendLatin1 appends b, one character per byte as JavaScript set it, in UTF-8.
func appendLatin1(dst, b []byte) []byte {
	for _, c := range b {
		dst = utf8.AppendRune(dst, rune(c))
	}
	return dst
}

// refuseStream stops an answer stream that will not be sent: its producer is told
// (the bridge's streams implement Refuse), and the stream is closed, freeing its call.
func refuseStream(st io.ReadCloser) {
	if r, ok := st.(interface{ Refuse() }); ok {
		r.Refuse()
	}
	_ = st.Close()
}
