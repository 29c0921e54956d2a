package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/httpguard"
	"github.com/bluelibs/runner-native/internal/protocol"
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

// readBody reads the whole request body, at most MaxBodySize bytes. On failure it has
// answered: 413 past the limit; when the client stalls (408) or sends a broken body
// (400), the seed protocol's envelope, or Node's bare answer in runner mode (Node's HTTP
// server answers these before runner's exposure runs).
func (s *Server) readBody(r *request) ([]byte, bool) {
	ctx := r.ctx
	if !ctx.Request.IsBodyStream() {
		return ctx.PostBody(), true
	}
	limit := s.cfg.MaxBodySize
	var num [20]byte
	tooLarge := func() ([]byte, bool) {
		ctx.SetConnectionClose()
		if !s.dialect.Runner() {
			s.setCORS(r) // the seed protocol reads the body before anything else
		}
		s.fail(r, protocol.PayloadTooLarge, strconv.AppendInt(num[:0], int64(limit), 10))
		return nil, false
	}
	if n := ctx.Request.Header.ContentLength(); n > limit {
		return tooLarge()
	}
	c := r.c
	buf := c.body[:0]
	if n := ctx.Request.Header.ContentLength(); n > cap(buf) {
		buf = make([]byte, 0, n)
	}
	stream := ctx.RequestBodyStream()
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
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

// bodyFailed answers a body that stalled (408) or broke (400, or the guard's refusal).
func (s *Server) bodyFailed(r *request, err error) {
	ctx := r.ctx
	var netErr net.Error
	rej, guarded := httpguard.RejectionOf(ctx.Conn())
	timeout := errors.As(err, &netErr) && netErr.Timeout()
	if s.dialect.Runner() {
		switch {
		case guarded:
			s.nodeClientError(ctx, rej.Status)
		case timeout:
			s.nodeClientError(ctx, fasthttp.StatusRequestTimeout)
		default:
			s.nodeClientError(ctx, fasthttp.StatusBadRequest)
		}
		return
	}
	ctx.SetConnectionClose()
	s.setCORS(r) // the seed protocol reads the body before anything else
	switch {
	case guarded:
		s.stats.RejectedHTTP.Add(1)
		c := r.c
		var status int
		c.out, status = s.dialect.AppendCustom(c.out[:0], rej.Status, rej.Code, s.guardMessage(rej))
		s.reply(r, status, c.out)
	case timeout:
		s.fail(r, protocol.RequestTimeout, nil)
	default:
		s.stats.RejectedHTTP.Add(1)
		s.fail(r, protocol.MalformedRequest, nil)
	}
}

// streamBody hands the request body to the call as a stream (ctx.body in JavaScript).
func (s *Server) streamBody(r *request) {
	c, ctx := r.c, r.ctx
	if ctx.Request.IsBodyStream() {
		c.Body = ctx.RequestBodyStream()
	} else {
		c.Body = bytes.NewReader(ctx.PostBody())
	}
	c.BodySize = ctx.Request.Header.ContentLength()
	c.BodyLimit = s.cfg.MaxStreamBodySize
	c.ReadTimeout = config.Millis(s.cfg.ReadTimeoutMs)
}
