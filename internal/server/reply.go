package server

import (
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/protocol"
)

// Replies: the JSON answers of both protocols, written from what the call recorded.

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
