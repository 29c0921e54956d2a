package server

import (
	"io"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/ascii"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Streamed answers: a handler's status, headers and body stream, checked, then written
// chunked (HTTP/1.1) or until the connection's close (HTTP/1.0).

// Headers a streamed answer may not set: runner's security list (respondStream in
// src/node/exposure/httpResponse.ts@5.5.0), and the framing headers the server owns.
var blockedStreamHeaders = map[string]bool{
	"set-cookie": true, "access-control-allow-origin": true, "access-control-allow-credentials": true,
	"x-content-type-options": true, "x-frame-options": true,
	"content-length": true, "transfer-encoding": true, "connection": true, "keep-alive": true,
	"upgrade": true, "trailer": true, "te": true,
}

// writeStream answers with the handler's stream: its status and headers now, its bytes
// as they come (chunked), read by fasthttp through the call's stream. Every name and
// value is checked first: one that HTTP cannot carry fails the call as Node's setHeader
// fails it (500, before any byte), so a handler never sends a header it did not set.
func (s *Server) writeStream(r *request) {
	c, h := r.c, &r.ctx.Response.Header
	var ok bool
	if c.FailArg, ok = checkStreamHeaders(c.FailArg[:0], c.StreamHeaders); !ok {
		refuseStream(c.Stream)
		s.fail(r, protocol.UnencodableResult, c.FailArg)
		return
	}
	status := c.StreamStatus
	if status < 100 || status > 599 {
		status = fasthttp.StatusOK
	}
	r.ctx.SetStatusCode(status)
	setStreamHeaders(h, c.StreamHeaders)
	if s.dialect.Runner() {
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
	}
	stream := s.observeStream(r, c.Stream, status)
	if r.ctx.Request.Header.IsHTTP11() {
		r.ctx.Response.SetBodyStream(stream, -1)
	} else {
		s.writeUntilClose(r, stream)
	}
	s.stats.count(status)
}

// writeUntilClose answers an HTTP/1.0 request's stream: HTTP/1.0 has no chunked coding
// (RFC 9112 §6.1), so the body is delimited by the connection's close, as node:http
// does: no Content-Length, no Transfer-Encoding, Connection: close. fasthttp frames a
// body stream of unknown size chunked whatever the request's version, so the server
// takes the connection over (hijack, no response of fasthttp's) and writes the head
// and the stream itself; fasthttp closes the connection once this returns. The stream
// is closed here, after its last write, as fasthttp would have.
func (s *Server) writeUntilClose(r *request, stream io.ReadCloser) {
	h := &r.ctx.Response.Header
	h.SetContentLength(-2) // identity: neither Content-Length nor Transfer-Encoding
	h.SetConnectionClose()
	head := append([]byte(nil), h.Header()...)
	r.ctx.HijackSetNoResponse(true)
	r.ctx.Hijack(func(conn net.Conn) {
		defer func() {
			_ = recover() // never let a panic of this goroutine reach Node
			_ = stream.Close()
		}()
		if _, err := conn.Write(head); err != nil {
			return
		}
		if wt, ok := stream.(io.WriterTo); ok {
			_, _ = wt.WriteTo(conn)
		} else {
			_, _ = io.Copy(conn, stream)
		}
	})
}

// setStreamHeaders sets the headers checkStreamHeaders accepted, but the ones a handler
// may not set (blockedStreamHeaders).
func setStreamHeaders(h *fasthttp.ResponseHeader, headers []byte) {
	for rest := headers; len(rest) > 0; {
		name, value, next, _ := wire.NextHeader(rest) // checked: whole pairs
		rest = next
		switch lower := strings.ToLower(string(name)); {
		case lower == "content-type":
			h.SetContentTypeBytes(value)
		case blockedStreamHeaders[lower]:
		default:
			h.AddBytesKV(name, value)
		}
	}
}

// checkStreamHeaders checks the headers of a streamed answer (wire.NextHeader pairs):
// each name an RFC 9110 token, each value a field-value (ascii.IsFieldValue). For the
// first that is not, it appends Node's message for it to dst (ERR_INVALID_HTTP_TOKEN,
// ERR_INVALID_CHAR) and returns false.
func checkStreamHeaders(dst, headers []byte) ([]byte, bool) {
	for rest := headers; len(rest) > 0; {
		name, value, next, ok := wire.NextHeader(rest)
		switch {
		case !ok: // JavaScript and Go disagree on the encoding: a bug, refused all the same
			return append(dst, "Invalid headers"...), false
		case !ascii.IsToken(name):
			dst = append(dst, `Header name must be a valid HTTP token ["`...)
			return append(appendLatin1(dst, name), `"]`...), false
		case !ascii.IsFieldValue(value):
			dst = append(dst, `Invalid character in header content ["`...)
			return append(append(dst, name...), `"]`...), false
		}
		rest = next
	}
	return dst, true
}

// appendLatin1 appends b, one character per byte as JavaScript set it, in UTF-8.
func appendLatin1(dst, b []byte) []byte {
	for _, c := range b {
		dst = utf8.AppendRune(dst, rune(c))
	}
	return dst
}

// refuseStream stops an answer stream that will not be sent: its producer is told
// (the bridge's streams implement Refuse), and the stream is closed, freeing its call.
func refuseStream(st io.ReadCloser) {
	if r, ok := st.(interface{ Refuse() }); ok {
		r.Refuse()
	}
	_ = st.Close()
}
