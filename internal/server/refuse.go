package server

import (
	"errors"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/httpguard"
	"github.com/bluelibs/runner-native/internal/protocol"
)

// Refusals of a request the server could not read: the guard's (before fasthttp, or
// once fasthttp had the head), fasthttp's errors, and a body that stalled or broke.
// One mapper decides the answer for both protocols, and one rule counts them.

// malformedHTTP is the one rule for stats.RejectedHTTP: a request refused because its
// bytes broke HTTP's rules, that is every refusal of the guard but its connection limit,
// and whatever fasthttp could not parse. The server's own limits and timeouts (413
// maxBodySize, fasthttp's 431 and 408) are not counted there.
func malformedHTTP(guard *protocol.Answer, f protocol.Failure) bool {
	if guard != nil {
		return guard.Status != fasthttp.StatusServiceUnavailable
	}
	return f == protocol.MalformedRequest
}

// unreadFailure maps a read error to its refusal: the guard's own answer (guard not
// nil), else a Failure with its argument. pastDeadline: a timeout is the request's
// whole deadline (requestTimeoutMs) rather than one read's.
func (s *Server) unreadFailure(ctx *fasthttp.RequestCtx, err error, pastDeadline bool) (guard *protocol.Answer, f protocol.Failure, arg int) {
	if rej, ok := httpguard.RejectionOf(ctx.Conn()); ok {
		return &rej, 0, 0
	}
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return nil, protocol.PayloadTooLarge, s.cfg.MaxBodySize
	case errors.As(err, &small):
		return nil, protocol.HeadersTooLarge, s.cfg.MaxHeaderSize
	case errors.As(err, &netErr) && netErr.Timeout() && pastDeadline:
		return nil, protocol.RequestDeadline, 0
	case errors.As(err, &netErr) && netErr.Timeout():
		return nil, protocol.RequestTimeout, 0
	}
	return nil, protocol.MalformedRequest, 0
}

// refuseUnread answers a request that could not be read (see unreadFailure), and the
// connection closes after it. Runner's exposure never sees these requests: Node's HTTP
// server answers them itself (lib/_http_server.js socketOnError) with a bare status
// line and Connection: close, no body, no CORS, security or request-id headers. The
// seed protocol answers its envelope.
func (s *Server) refuseUnread(r *request, err error, pastDeadline bool) {
	guard, f, arg := s.unreadFailure(r.ctx, err, pastDeadline)
	if malformedHTTP(guard, f) {
		s.stats.RejectedHTTP.Add(1)
	}
	status := s.dialect.Status(f)
	if guard != nil {
		status = guard.Status
	}
	if s.dialect.Runner() {
		s.nodeClientError(r.ctx, status)
		return
	}
	r.ctx.SetConnectionClose()
	c := r.c
	if guard != nil {
		c.out, status = s.appendGuard(c.out[:0], guard)
		s.reply(r, status, c.out)
		return
	}
	var num [20]byte
	a := num[:0]
	if arg > 0 {
		a = strconv.AppendInt(a, int64(arg), 10)
	}
	s.fail(r, f, a)
}

// appendGuard appends the envelope of the guard's refusal rej and returns its status.
// A limit of the server's own is named by its setting, as the server's answers are.
func (s *Server) appendGuard(dst []byte, rej *protocol.Answer) ([]byte, int) {
	var f protocol.Failure
	arg := 0
	switch rej.Status {
	case fasthttp.StatusRequestTimeout:
		f = protocol.RequestTimeout
	case fasthttp.StatusRequestHeaderFieldsTooLarge:
		f, arg = protocol.HeadersTooLarge, s.cfg.MaxHeaderSize
	case fasthttp.StatusServiceUnavailable:
		f, arg = protocol.TooManyConnections, s.cfg.MaxConnections
	default:
		return s.dialect.AppendAnswer(dst, rej, nil)
	}
	var buf [96]byte
	msg := buf[:0]
	if arg > 0 {
		var num [20]byte
		msg = s.dialect.AppendMessage(msg, f, strconv.AppendInt(num[:0], int64(arg), 10))
	} else {
		msg = s.dialect.AppendMessage(msg, f, nil)
	}
	return s.dialect.AppendFailure(dst, f, msg)
}

// nodeClientError answers as Node's HTTP server answers a request its parser or its
// timeouts reject while no response has started (lib/_http_server.js socketOnError):
// the status line and Connection: close, nothing else (fasthttp adds Date and
// Content-Length: 0).
func (s *Server) nodeClientError(ctx *fasthttp.RequestCtx, status int) {
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetConnectionClose()
	s.stats.count(status)
}

// refuseForm answers runner's refusal of a form (or this server's, protocol.Form*).
// What is left of the body is not read: the connection closes after the answer.
func (s *Server) refuseForm(r *request, a *protocol.Answer) {
	c := r.c
	if c.Body == nil || !c.stream.eof {
		r.ctx.SetConnectionClose()
	}
	var status int
	c.out, status = s.dialect.AppendAnswer(c.out[:0], a, nil)
	s.reply(r, status, c.out)
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
