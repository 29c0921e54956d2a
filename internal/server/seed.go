package server

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/route"
)

const (
	allowPost    = "POST, OPTIONS"
	allowGetPost = "GET, POST, OPTIONS"
)

// handleSeed serves the seed protocol. Order: route → CORS → preflight → auth →
// discovery (GET or POST) → method → exposure and id → body (413) → handler.
func (s *Server) handleSeed(ctx *fasthttp.RequestCtx) { s.serve(ctx, (*Server).seedSteps) }

func (s *Server) seedSteps(r *request) {
	ctx, c := r.ctx, r.c
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
	if !s.admit(r, path) {
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
	op := kind // route.Task or route.Event
	if !s.resolve(r, op, id) {
		return
	}
	if isOctetStream(ctx.Request.Header.ContentType()) {
		// A raw body is streamed to the handler (ctx.body).
		s.streamBody(r)
	} else if body, ok := s.readBody(r); !ok {
		return
	} else if len(body) > 0 && !s.seedBody(r, op, body) {
		return
	}
	s.call(r, op, id)
}
