package server

import (
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/envelope"
)

// requestIDKey is requestIDHeader as a lower-case key of the object.
const requestIDKey = "x-runner-request-id"

// AppendHeaderObject appends h as a JSON object {"name":"value"} with lower-case
// names, in arrival order; a repeated header's values are joined with ", " as Node's
// IncomingMessage.headers does. With requestID (runner protocol), x-runner-request-id is
// the request's id, as runner writes it into req.headers (in the client's header's place,
// else last), so that JavaScript never adds it again. Not on the hot path: asked for
// ctx.headers and for auth validators only.
func AppendHeaderObject(dst []byte, h *fasthttp.RequestHeader, requestID []byte) []byte {
	type kv struct{ k, v []byte }
	var pairs []kv
	for k, v := range h.AllInOrder() {
		lk := lower(k)
		merged := false
		for i := range pairs {
			if string(pairs[i].k) == string(lk) {
				pairs[i].v = append(append(pairs[i].v, ", "...), v...)
				merged = true
				break
			}
		}
		if !merged {
			pairs = append(pairs, kv{lk, append([]byte(nil), v...)})
		}
	}
	if requestID != nil {
		found := false
		for i := range pairs {
			if string(pairs[i].k) == requestIDKey {
				pairs[i].v, found = requestID, true
			}
		}
		if !found {
			pairs = append(pairs, kv{[]byte(requestIDKey), requestID})
		}
	}
	dst = append(dst, '{')
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = envelope.AppendString(dst, p.k)
		dst = append(dst, ':')
		dst = envelope.AppendString(dst, p.v)
	}
	return append(dst, '}')
}

func lower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}
