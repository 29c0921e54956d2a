package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Auth: the token list, the JavaScript validator, runner's allowAnonymous, and the
// notice JavaScript gets of a refusal.

// authorize applies the auth policy: a listed token, else the JavaScript validator,
// else (no policy at all) open for the seed protocol, allowAnonymous or
// AUTH_NOT_CONFIGURED for runner's. ok false comes with the failure to answer.
func (s *Server) authorize(r *request, path []byte) (protocol.Failure, bool) {
	a := &s.cfg.Auth
	if len(s.tokens) > 0 {
		token := r.ctx.Request.Header.Peek(a.Header)
		if s.dialect.Runner() {
			token = nodeHeader(&r.c.hdr, &r.ctx.Request.Header, a.Header)
		}
		sum := sha256.Sum256(token)
		match := 0
		for i := range s.tokens {
			match |= subtle.ConstantTimeCompare(sum[:], s.tokens[i][:])
		}
		if match == 1 {
			return 0, true
		}
	}
	if a.Validator {
		ok, _, _ := s.ask(r, wire.CheckAuth, func(q *Call) {
			// runner's validators see the request id among the headers (it writes it there).
			q.Extras[wire.ExtraRequestID] = r.c.Extras[wire.ExtraRequestID]
			q.Extras[wire.ExtraMethod] = r.ctx.Method()
			q.Extras[wire.ExtraURL] = r.ctx.Request.Header.RequestURI()
			q.Extras[wire.ExtraPath] = path
			// Sent with the question, so that JavaScript never asks Go for them back.
			q.Extras[wire.ExtraHeaders] = AppendHeaderObject(nil, &r.ctx.Request.Header, r.c.Extras[wire.ExtraRequestID])
		})
		if ok {
			return 0, true
		}
	}
	if !a.Required() {
		if !s.dialect.Runner() || a.AllowAnonymous {
			return 0, true
		}
		return protocol.AuthNotConfigured, false
	}
	return protocol.Unauthorized, false
}

// noticeAuthFailure counts a refused request and tells JavaScript about it, for its
// logs. The record is built in a pooled buffer: the notifier copies what it keeps (at
// most one record per port; the rest are counted, see bridge.Port.Notify), so a flood
// of refused requests allocates nothing per request.
func (s *Server) noticeAuthFailure(r *request, path []byte, f protocol.Failure) {
	s.stats.AuthFailures.Add(1)
	n, ok := s.inv.(Notifier)
	if !ok || !s.cfg.AuthFailureNotices {
		return
	}
	var extras [wire.ExtraCount][]byte
	extras[wire.ExtraRequestID] = r.c.Extras[wire.ExtraRequestID]
	extras[wire.ExtraMethod] = r.ctx.Method()
	extras[wire.ExtraPath] = path
	extras[wire.ExtraCode] = []byte(s.dialect.Code(f))
	size := wire.RecordSize(nil, &extras)
	bp := noticeBufs.Get().(*[]byte)
	rec := slices.Grow((*bp)[:0], size)[:size]
	wire.PutRecord(rec, 0, wire.KindNotice, 0, wire.NoticeAuthFailure, uint32(s.dialect.Status(f)), nil, &extras)
	n.Notify(rec)
	if cap(rec) <= maxPooledBuf {
		*bp = rec
		noticeBufs.Put(bp)
	}
}

// noticeBufs are the buffers notice records are built in (Notify copies what it keeps).
var noticeBufs = sync.Pool{New: func() any { return new([]byte) }}

// failAuth answers an auth failure; the seed protocol names the header to send (runner's
// message takes no argument).
func (s *Server) failAuth(r *request, f protocol.Failure) {
	if f == protocol.Unauthorized {
		s.fail(r, f, []byte(s.cfg.Auth.Header))
		return
	}
	s.fail(r, f, nil)
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
