package bridge

import (
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/envelope"
)

// appendHeaderObject appends h as a JSON object {"name":"value"} with lower-case
// names, in arrival order; a repeated header's values are joined with ", " as Node's
// IncomingMessage.headers does.
func appendHeaderObject(dst []byte, h *fasthttp.RequestHeader) []byte {
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
