package server

import (
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/wire"
)

const runnerPreflightMethods = "POST, OPTIONS" // unused when the policy has methods (it always does)

// handleRunner serves @bluelibs/runner's protocol, in the order of its exposure
// (src/node/exposure/requestHandlers.ts, handlers/*@5.5.0):
//
//	outside the base path → 404 (no request id)
//	OPTIONS → preflight; then a request id for everything else
//	no route → 404; discovery: disabled → 404, not GET → 405, auth, answer
//	task/event: not POST → 405, auth (401/500), exposure (403), id (404),
//	content type, body (400), handler
func (s *Server) handleRunner(ctx *fasthttp.RequestCtx) { s.serve(ctx, (*Server).runnerSteps) }

// runnerSteps: the body is read last, as runner reads it.
func (s *Server) runnerSteps(r *request) {
	ctx, c := r.ctx, r.c
	kind, id, scratch, under, err := route.ParseRunner(c.idBuf, c.scratch, ctx.URI().PathOriginal(), s.cfg.BasePath)
	c.scratch = scratch[:0]
	if id != nil {
		c.idBuf = id[:0]
	}
	path := scratch
	if !under {
		s.setCORS(r)
		s.fail(r, protocol.RouteNotFound, nil)
		return
	}
	method := ctx.Method()
	if string(method) == string(methodOptions) {
		s.preflight(r, runnerPreflightMethods)
		return
	}
	s.ensureRequestID(r)
	s.setCORS(r)
	if err != nil {
		s.fail(r, protocol.RouteNotFound, nil)
		return
	}
	if kind == route.Discovery {
		switch {
		case s.cfg.DisableDiscovery:
			s.fail(r, protocol.RouteNotFound, nil)
		case string(method) != string(methodGet):
			s.fail(r, protocol.MethodNotAllowed, nil)
		default:
			if !s.admit(r, path) {
				return
			}
			s.reply(r, fasthttp.StatusOK, s.reg.Discovery(s.cfg.Exposure == config.List))
		}
		return
	}
	if string(method) != string(methodPost) {
		s.fail(r, protocol.MethodNotAllowed, nil)
		return
	}
	if !s.admit(r, path) {
		return
	}
	op := kind // route.Task or route.Event
	if !s.resolve(r, op, id) {
		return
	}
	ct := ctx.Request.Header.ContentType()
	switch {
	case op == OpTask && isMultipart(ct):
		// Runner's file uploads: the task gets the manifest's input, its files as streams.
		if !s.multipartBody(r) {
			return
		}
	case op == OpTask && isOctetStream(ct):
		// Runner hands the task undefined and the raw body (useExposureContext().req).
		s.streamBody(r)
	default:
		body, ok := s.readBody(r)
		if !ok {
			return
		}
		if len(body) > 0 && !s.runnerBody(r, op, body) {
			return
		}
	}
	// Sent twice, Node joins the values with ", ": never a JSON object runner can parse,
	// so it provides no context at all.
	if v := ctx.Request.Header.PeekAll("X-Runner-Context"); len(v) == 1 && len(v[0]) > 0 {
		c.Extras[wire.ExtraContext] = v[0]
	}
	// The request target, for useExposureContext().url (runner: new URL(req.url, ...)).
	c.Extras[wire.ExtraURL] = ctx.Request.Header.RequestURI()
	s.call(r, op, id)
}
