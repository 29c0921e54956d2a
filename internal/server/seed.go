package server

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/jsonscan"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/wire"
)

const (
	allowPost    = "POST, OPTIONS"
	allowGetPost = "GET, POST, OPTIONS"
)

// handleSeed serves the seed protocol. Order: route → CORS → preflight → auth →
// discovery (GET or POST) → method → exposure and id → body (413) → handler.
func (s *Server) handleSeed(ctx *fasthttp.RequestCtx) {
	s.stats.Requests.Add(1)
	c := acquireCall()
	defer releaseCall(c)
	r := &request{ctx: ctx, c: c, origin: ctx.Request.Header.Peek(fasthttp.HeaderOrigin)}
	defer s.unreadBody(r) // after recoverPanic, which resets the response
	// Registered after releaseCall, so it runs first: a panic anywhere below becomes a
	// 500 for this request and never unwinds into fasthttp or Node.
	defer s.recoverPanic(r)

	// The body is read last, once the request is routed, authorized and its handler
	// found: a client may announce any Content-Length, and none of it is read (or
	// buffered) for a request that is refused anyway (see unreadBody).
	path := ctx.URI().PathOriginal()
	kind, id, err := route.Parse(c.idBuf, path, s.cfg.BasePath)
	if id != nil {
		c.idBuf = id[:0] // keep a grown array for the next call
	}
	method := ctx.Method()
	if err != nil {
		s.setCORS(r)
		if errors.Is(err, route.ErrNotFound) {
			s.fail(r, protocol.RouteNotFound, nil)
		} else {
			s.fail(r, protocol.InvalidID, []byte(err.Error()))
		}
		return
	}
	if string(method) == string(methodOptions) {
		if kind == route.Discovery {
			s.preflight(r, allowGetPost)
		} else {
			s.preflight(r, allowPost)
		}
		return
	}
	s.setCORS(r)
	if f, ok := s.authorize(r, path); !ok {
		s.noticeAuthFailure(r, path, f)
		s.failAuth(r, f)
		return
	}
	if kind == route.Discovery {
		switch {
		case s.cfg.DisableDiscovery:
			s.fail(r, protocol.RouteNotFound, nil)
		case string(method) != string(methodGet) && string(method) != string(methodPost):
			ctx.Response.Header.Set(fasthttp.HeaderAllow, allowGetPost)
			s.fail(r, protocol.MethodNotAllowed, []byte("GET or POST"))
		default:
			s.reply(r, fasthttp.StatusOK, s.reg.Discovery(s.cfg.Exposure != config.Closed))
		}
		return
	}
	if string(method) != string(methodPost) {
		ctx.Response.Header.Set(fasthttp.HeaderAllow, allowPost)
		s.fail(r, protocol.MethodNotAllowed, methodPost)
		return
	}
	op := OpTask
	if kind == route.Event {
		op = OpEvent
	}
	if !s.resolve(r, op, id) {
		return
	}
	if isOctetStream(ctx.Request.Header.ContentType()) {
		// A raw body is streamed to the handler (ctx.body).
		s.streamBody(r)
	} else if body, ok := s.readBody(r); !ok {
		return
	} else if len(body) > 0 {
		value, ret, isObject, err := jsonscan.Members(body, memberName(op), "returnPayload", s.cfg.MaxJSONDepth)
		if err == nil && !isObject {
			err = jsonscan.ErrNotObject
		}
		if err != nil {
			s.fail(r, protocol.InvalidJSON, []byte(err.Error()))
			return
		}
		c.Input, c.HasInput = value, value != nil
		if op == OpEvent && ret != nil {
			c.Extras[wire.ExtraReturnPayload] = ret
		}
	}
	s.call(r, op, id)
}

// failAuth answers an auth failure; the seed protocol names the header to send.
func (s *Server) failAuth(r *request, f protocol.Failure) {
	if f == protocol.Unauthorized {
		s.fail(r, f, []byte(s.cfg.Auth.Header))
		return
	}
	s.fail(r, f, nil)
}

// resolve finds the handlers of id, or answers why there are none. Both protocols
// share it: closed exposure is 403, an unknown id 403 (list) or 404 (open), a known
// but missing one 404.
func (s *Server) resolve(r *request, op Op, id []byte) bool {
	if s.cfg.Exposure == config.Closed {
		s.fail(r, protocol.ExposureDisabled, nil)
		return false
	}
	kind := route.Task
	notFound, notExposed := protocol.TaskNotFound, protocol.TaskNotExposed
	if op == OpEvent {
		kind, notFound, notExposed = route.Event, protocol.EventNotFound, protocol.EventNotExposed
	}
	e := s.reg.Lookup(kind, id)
	switch {
	case e == nil && s.cfg.Exposure == config.List:
		s.fail(r, notExposed, id)
	case e == nil || len(e.Targets) == 0:
		s.fail(r, notFound, id)
	default:
		r.c.Entry = e
		return true
	}
	return false
}

// call invokes the handler of id and writes its answer.
func (s *Server) call(r *request, op Op, id []byte) {
	c := r.c
	c.Op, c.ID = op, id
	c.Header, c.Conn = &r.ctx.Request.Header, r.ctx.Conn()
	c.WriteTimeout = config.Millis(s.cfg.WriteTimeoutMs)
	s.invoke(c)
	if s.bodyTimedOut(r) {
		return
	}
	// Duplex first: the body is then being read beside the answer, by another goroutine.
	if c.Duplex() || !s.bodyRead(r) {
		r.ctx.SetConnectionClose() // answered before the body's end: what is left is not read here
	}
	// Events answer a result only when JavaScript sends one (returnPayload).
	s.answer(r, true)
}
