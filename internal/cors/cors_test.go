package cors

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
)

// headers returns the actual-response CORS headers of policy c for a request with
// Origin origin (nil: none) and JavaScript's answer dynamic.
func headers(c config.CORS, origin, dynamic string) map[string]string {
	var h fasthttp.ResponseHeader
	var o, d []byte
	if origin != "" {
		o = []byte(origin)
	}
	if dynamic != "" {
		d = []byte(dynamic)
	}
	New(c).Actual(&h, o, d)
	out := map[string]string{}
	for k, v := range h.All() {
		out[string(k)] = string(v)
	}
	delete(out, "Content-Type")
	return out
}

func decode(t *testing.T, js string) config.CORS {
	t.Helper()
	c, err := config.Decode([]byte(`{"port":0,"protocol":"runner",` + js + `}`))
	assert.NoError(t, err)
	return c.CORS
}

// Each case: a policy, a request origin, JavaScript's answer (dynamic policies), the headers.
func TestActual(t *testing.T) {
	seedAny := config.Defaults(config.Seed).CORS
	seedList := decode(t, `"corsOrigins":["https://a.example","http://localhost:3000"]`)
	cases := []struct {
		name            string
		policy          config.CORS
		origin, dynamic string
		want            map[string]string
	}{
		{"seed any, no origin", seedAny, "", "", map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"seed any", seedAny, "https://x.example", "", map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"seed list, listed", seedList, "https://a.example", "", map[string]string{"Access-Control-Allow-Origin": "https://a.example", "Vary": "Origin"}},
		{"seed list, other", seedList, "https://evil.example", "", map[string]string{"Vary": "Origin"}},
		{"seed list, exact match only", seedList, "https://A.example", "", map[string]string{"Vary": "Origin"}},
		{"seed list, no origin", seedList, "", "", map[string]string{"Vary": "Origin"}},
		{"runner default", config.Defaults(config.Runner).CORS, "https://x.example", "", map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"runner fixed", decode(t, `"cors":{"origin":"https://a.example"}`), "https://x.example", "", map[string]string{"Access-Control-Allow-Origin": "https://a.example"}},
		{"runner credentials without origin", decode(t, `"cors":{"credentials":true}`), "https://x.example", "", map[string]string{"Vary": "Origin", "Access-Control-Allow-Credentials": "true"}},
		{"runner list without vary", decode(t, `"cors":{"origin":["https://a.example"],"varyOrigin":false}`), "https://a.example", "", map[string]string{"Access-Control-Allow-Origin": "https://a.example"}},
		{"runner exposed headers", decode(t, `"cors":{"exposedHeaders":["x-a","x-b"]}`), "", "", map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "x-a, x-b"}},
		{"runner dynamic allowed", decode(t, `"cors":{"origin":{"$js":"regexp","text":"/a/"}}`), "https://a.example", "https://a.example", map[string]string{"Access-Control-Allow-Origin": "https://a.example", "Vary": "Origin"}},
		{"runner dynamic refused", decode(t, `"cors":{"origin":{"$js":"function","text":"[function]"}}`), "https://b.example", "", map[string]string{"Vary": "Origin"}},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, headers(c.policy, c.origin, c.dynamic), c.name)
	}
}

func TestPreflight(t *testing.T) {
	pre := func(c config.CORS, requested string) map[string]string {
		var h fasthttp.ResponseHeader
		New(c).Preflight(&h, []byte("https://a.example"), nil, []byte(requested), "POST, OPTIONS")
		out := map[string]string{}
		for k, v := range h.All() {
			out[string(k)] = string(v)
		}
		delete(out, "Content-Type")
		return out
	}
	assert.Equal(t, map[string]string{
		"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, OPTIONS",
		"Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "86400",
	}, pre(config.Defaults(config.Seed).CORS, ""), "seed: the route's methods, Content-Type by default, a day")
	assert.Equal(t, map[string]string{
		"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "POST, OPTIONS",
		"Access-Control-Allow-Headers": "x-runner-token",
	}, pre(config.Defaults(config.Runner).CORS, "x-runner-token"), "runner: echo the requested headers, no max-age")
	assert.Equal(t, map[string]string{
		"Access-Control-Allow-Origin": "https://a.example", "Access-Control-Allow-Methods": "POST",
		"Access-Control-Allow-Headers": "a, b", "Access-Control-Allow-Credentials": "true", "Access-Control-Max-Age": "60",
	}, pre(decode(t, `"cors":{"origin":"https://a.example","methods":["POST"],"allowedHeaders":["a","b"],"credentials":true,"maxAge":60}`), "x"))
}
