// Package cors writes the CORS response headers of a configured policy
// (config.CORS), for actual requests and for preflight.
package cors

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
)

// Policy is a compiled config.CORS. Its methods allocate nothing.
type Policy struct {
	c        config.CORS
	allowed  map[string]struct{}
	methods  string // joined Methods, or "" for the route's own
	headers  string // joined AllowedHeaders, or "" to echo
	exposed  string
	fixed    []byte
	anyValue []byte
}

// New compiles c.
func New(c config.CORS) *Policy {
	p := &Policy{c: c, anyValue: []byte("*")}
	if c.Mode == config.OriginList {
		p.allowed = make(map[string]struct{}, len(c.Origins))
		for _, o := range c.Origins {
			p.allowed[o] = struct{}{}
		}
	}
	if c.Mode == config.OriginFixed {
		p.fixed = []byte(c.Origins[0])
	}
	p.methods = strings.Join(c.Methods, ", ")
	p.headers = strings.Join(c.AllowedHeaders, ", ")
	p.exposed = strings.Join(c.ExposedHeaders, ", ")
	return p
}

// Dynamic reports whether JavaScript chooses the allowed origin (a RegExp or a function):
// the server then asks it and passes the answer to Actual and Preflight.
func (p *Policy) Dynamic() bool { return p.c.Mode == config.OriginDynamic }

// allowOrigin returns the Access-Control-Allow-Origin value for a request whose Origin
// header is origin (empty when absent), or nil. dynamic is JavaScript's answer in
// dynamic mode.
func (p *Policy) allowOrigin(origin, dynamic []byte) []byte {
	switch p.c.Mode {
	case config.OriginAny:
		return p.anyValue
	case config.OriginFixed:
		return p.fixed
	case config.OriginList:
		if len(origin) == 0 {
			return nil
		}
		if _, ok := p.allowed[string(origin)]; ok {
			return origin
		}
	case config.OriginDynamic:
		if len(dynamic) > 0 {
			return dynamic
		}
	}
	return nil
}

// Actual sets the headers of an actual (non-preflight) response.
func (p *Policy) Actual(h *fasthttp.ResponseHeader, origin, dynamic []byte) {
	if p.c.Vary {
		h.Set(fasthttp.HeaderVary, fasthttp.HeaderOrigin)
	}
	if v := p.allowOrigin(origin, dynamic); v != nil {
		h.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, v)
	}
	if p.c.Credentials {
		h.Set(fasthttp.HeaderAccessControlAllowCredentials, "true")
	}
	if p.exposed != "" {
		h.Set(fasthttp.HeaderAccessControlExposeHeaders, p.exposed)
	}
}

// Preflight sets the headers of a preflight answer. routeMethods are the route's
// methods, used when the policy configures none; requested is the request's
// Access-Control-Request-Headers.
func (p *Policy) Preflight(h *fasthttp.ResponseHeader, origin, dynamic, requested []byte, routeMethods string) {
	if p.c.Vary {
		h.Set(fasthttp.HeaderVary, fasthttp.HeaderOrigin)
	}
	if v := p.allowOrigin(origin, dynamic); v != nil {
		h.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, v)
	}
	if p.methods != "" {
		h.Set(fasthttp.HeaderAccessControlAllowMethods, p.methods)
	} else {
		h.Set(fasthttp.HeaderAccessControlAllowMethods, routeMethods)
	}
	switch {
	case p.headers != "":
		h.Set(fasthttp.HeaderAccessControlAllowHeaders, p.headers)
	case len(requested) > 0:
		h.SetBytesV(fasthttp.HeaderAccessControlAllowHeaders, requested)
	case p.c.DefaultAllowHeaders != "":
		h.Set(fasthttp.HeaderAccessControlAllowHeaders, p.c.DefaultAllowHeaders)
	}
	if p.c.Credentials {
		h.Set(fasthttp.HeaderAccessControlAllowCredentials, "true")
	}
	if p.c.MaxAge != "" {
		h.Set(fasthttp.HeaderAccessControlMaxAge, p.c.MaxAge)
	}
}
