package server

import (
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/route"
)

// The steps both protocols share, in the order a request takes them: the request's
// parts read once, the handler's invocation, a check asked of JavaScript, auth, the
// handlers of an id, the call. seed.go and runner.go hold only the order of the steps
// of their protocol; each step lives in the file named for it (auth.go, cors.go,
// body.go, reply.go, stream.go, refuse.go).

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
	// streamed: the answer is a stream, observed when it closes (observeStream).
	streamed bool
}

// serve runs one protocol's steps (seedSteps, runnerSteps) with what every request
// needs around them: it is counted, gets a pooled call, a panic anywhere in the steps
// becomes a 500 for this request (it never unwinds into fasthttp or Node), and a body
// left unread closes its connection unless it is small (unreadBody).
func (s *Server) serve(ctx *fasthttp.RequestCtx, steps func(*Server, *request)) {
	s.stats.Requests.Add(1)
	c := acquireCall()
	defer releaseCall(c)
	r := &request{ctx: ctx, c: c, origin: ctx.Request.Header.Peek(fasthttp.HeaderOrigin)}
	defer s.observe(r)    // once the answer is decided, before the call is released
	defer s.unreadBody(r) // after recoverPanic, which resets the response
	// Registered after releaseCall, so it runs first.
	defer s.recoverPanic(r)
	steps(s, r)
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

func (s *Server) recoverPanic(r *request) {
	if v := recover(); v != nil {
		s.stats.Panics.Add(1)
		r.ctx.Response.Reset()
		r.asked, r.allow = true, nil // never call JavaScript from a broken state
		s.setCORS(r)
		s.fail(r, protocol.InternalPanic, nil)
	}
}

// admit applies the auth policy (authorize); a refused request is counted, noticed to
// JavaScript and answered.
func (s *Server) admit(r *request, path []byte) bool {
	f, ok := s.authorize(r, path)
	if !ok {
		s.noticeAuthFailure(r, path, f)
		s.failAuth(r, f)
	}
	return ok
}

// resolve finds the handlers of id (kind: route.Task or route.Event), or answers why
// there are none. Both protocols share it: closed exposure is 403, an unknown id 403
// (list) or 404 (open), a known but missing one 404.
func (s *Server) resolve(r *request, kind route.Kind, id []byte) bool {
	if s.cfg.Exposure == config.Closed {
		s.fail(r, protocol.ExposureDisabled, nil)
		return false
	}
	notFound, notExposed := protocol.TaskNotFound, protocol.TaskNotExposed
	if kind == route.Event {
		notFound, notExposed = protocol.EventNotFound, protocol.EventNotExposed
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
