package server

import (
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/wire"
)

// CORS: the policy's headers on every answer, preflights, and JavaScript's choice for
// dynamic policies (remembered per origin for a RegExp).

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
