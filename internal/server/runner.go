package server

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/jsonscan"
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
func (s *Server) handleRunner(ctx *fasthttp.RequestCtx) {
	s.stats.Requests.Add(1)
	c := acquireCall()
	defer releaseCall(c)
	r := &request{ctx: ctx, c: c, origin: ctx.Request.Header.Peek(fasthttp.HeaderOrigin)}
	defer s.unreadBody(r) // after recoverPanic, which resets the response; the body is read last, as runner reads it
	defer s.recoverPanic(r)

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
			if f, ok := s.authorize(r, path); !ok {
				s.noticeAuthFailure(r, path, f)
				s.fail(r, f, nil)
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
	if f, ok := s.authorize(r, path); !ok {
		s.noticeAuthFailure(r, path, f)
		s.fail(r, f, nil)
		return
	}
	op := OpTask
	if kind == route.Event {
		op = OpEvent
	}
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

// runnerBody applies runner's body rules. Task: a non-object body is the input; an
// object with an own "input" member gives that member, any other object is the input
// itself. Event: an object's "payload" member (else undefined) and its "returnPayload"
// member, passed along raw for JavaScript to judge its truthiness after decoding.
func (s *Server) runnerBody(r *request, op Op, body []byte) bool {
	c := r.c
	value, ret, isObject, err := jsonscan.Members(body, memberName(op), "returnPayload", s.cfg.MaxJSONDepth)
	if err != nil {
		s.fail(r, protocol.InvalidJSON, nil)
		return false
	}
	if op == OpTask {
		if isObject && value != nil {
			c.Input = value
		} else {
			c.Input = body
		}
		c.HasInput = true
		return true
	}
	if isObject {
		c.Input, c.HasInput = value, value != nil
		if ret != nil {
			c.Extras[wire.ExtraReturnPayload] = ret
		}
	}
	return true
}

// nodeHeader returns header name as runner reads it from Node's req.headers: a repeated
// header's values joined with ", ", except for the headers Node keeps only the first of
// (lib/_http_incoming.js matchKnownFields). A join is written into *buf.
func nodeHeader(buf *[]byte, h *fasthttp.RequestHeader, name string) []byte {
	if nodeKeepsFirst(name) {
		return h.Peek(name)
	}
	all := h.PeekAll(name)
	switch len(all) {
	case 0:
		return nil
	case 1:
		return all[0]
	}
	b := (*buf)[:0]
	for i, v := range all {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, v...)
	}
	*buf = b
	return b
}

// nodeKeepsFirst reports the headers whose repeats Node discards.
func nodeKeepsFirst(name string) bool {
	switch strings.ToLower(name) {
	case "age", "authorization", "content-length", "content-type", "etag", "expires", "from", "host",
		"if-modified-since", "if-unmodified-since", "last-modified", "location", "max-forwards",
		"proxy-authorization", "referer", "retry-after", "server", "user-agent":
		return true
	}
	return false
}

// isMultipart reports what runner takes for a multipart/form-data body (its file
// uploads): a content type that mentions it anywhere (/multipart\/form-data/i).
func isMultipart(ct []byte) bool {
	const t = "multipart/form-data"
	for i := 0; i+len(t) <= len(ct); i++ {
		if (ct[i] == 'm' || ct[i] == 'M') && bytes.EqualFold(ct[i:i+len(t)], []byte(t)) {
			return true
		}
	}
	return false
}

func isOctetStream(ct []byte) bool {
	const t = "application/octet-stream"
	return hasPrefixFold(ct, t) && (len(ct) == len(t) || ct[len(t)] == ';')
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
