package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/gohandlers"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/testhttp"
)

// cfg decodes a TunnelConfig's JSON fields (without port), as JavaScript sends them.
func cfg(t *testing.T, fields string) config.Config {
	t.Helper()
	if fields != "" {
		fields = "," + fields
	}
	c, err := config.Decode([]byte(`{"port":0,"host":"127.0.0.1"` + fields + `}`))
	require.NoError(t, err)
	return c
}

// start serves c on 127.0.0.1 with the example handlers plus whatever extra registers.
func start(t *testing.T, c config.Config, extra func(*gohandlers.Set)) (*server.Server, string) {
	t.Helper()
	c.Host = "127.0.0.1"
	reg := new(registry.Registry)
	set := gohandlers.New(reg)
	gohandlers.RegisterExamples(set)
	if extra != nil {
		extra(set)
	}
	srv := server.New(c, reg, set)
	require.NoError(t, srv.Listen())
	t.Cleanup(func() { _ = srv.Close(time.Second, nil) })
	return srv, fmt.Sprintf("http://127.0.0.1:%d", srv.Port())
}

type errorBody struct {
	OK    bool `json:"ok"`
	Error struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		CodeName string `json:"codeName"`
	} `json:"error"`
}

func do(t *testing.T, method, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	return do(t, http.MethodPost, url, body)
}

// assertError checks the status and the whole error envelope.
func assertError(t *testing.T, res *http.Response, body string, status int, codeName string) errorBody {
	t.Helper()
	assert.Equal(t, status, res.StatusCode, body)
	assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
	var e errorBody
	require.NoError(t, json.Unmarshal([]byte(body), &e), body)
	assert.False(t, e.OK)
	assert.Equal(t, status, e.Error.Code)
	assert.Equal(t, codeName, e.Error.CodeName)
	assert.NotEmpty(t, e.Error.Message)
	return e
}

func TestTaskAnswersResult(t *testing.T) {
	_, base := start(t, cfg(t, ""), nil)
	res, body := post(t, base+"/__runner/task/app.tasks.add", `{"input":{"a":5,"b":3}}`)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
	assert.Equal(t, `{"ok":true,"result":8}`, body)
}

func TestFalsyResultsAreKeptAndNoResultIsOmitted(t *testing.T) {
	_, base := start(t, cfg(t, ""), func(s *gohandlers.Set) {
		for _, v := range []string{"0", "false", `""`, "null"} {
			v := v
			s.Task("falsy."+v, func([]byte) ([]byte, error) { return []byte(v), nil })
		}
		s.Task("none", func([]byte) ([]byte, error) { return nil, nil })
	})
	for _, v := range []string{"0", "false", `""`, "null"} {
		_, body := post(t, base+"/__runner/task/falsy."+v, `{"input":1}`)
		assert.Equal(t, `{"ok":true,"result":`+v+`}`, body)
	}
	_, body := post(t, base+"/__runner/task/none", `{}`)
	assert.Equal(t, `{"ok":true}`, body)
}

func TestMissingInputIsNil(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	_, base := start(t, cfg(t, ""), func(s *gohandlers.Set) {
		s.Task("record", func(in []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			if in == nil {
				seen = append(seen, "<nil>")
			} else {
				seen = append(seen, string(in))
			}
			return nil, nil
		})
	})
	for _, body := range []string{``, `{}`, `{"other":1}`, `{"input":null}`, `{"input":[1, 2]}`} {
		res, _ := post(t, base+"/__runner/task/record", body)
		assert.Equal(t, 200, res.StatusCode)
	}
	assert.Equal(t, []string{"<nil>", "<nil>", "<nil>", "null", "[1, 2]"}, seen)
}

func TestEventAnswersOKWithPayload(t *testing.T) {
	got := make(chan string, 1)
	_, base := start(t, cfg(t, ""), func(s *gohandlers.Set) {
		s.Event("app.events.seen", func(p []byte) ([]byte, error) { got <- string(p); return []byte(`"ignored"`), nil })
	})
	res, body := post(t, base+"/__runner/event/app.events.seen", `{"payload":{"message":"Hello"}}`)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, `{"ok":true}`, body)
	assert.Equal(t, `{"message":"Hello"}`, <-got)
}

func TestDiscovery(t *testing.T) {
	_, base := start(t, cfg(t, ""), nil)
	want := `{"ok":true,"result":{"allowList":{"enabled":true,` +
		`"tasks":["app.tasks.add","app.tasks.greet","app.tasks.complex","app.tasks.echo","app.tasks.sleep","app.tasks.cpu"],` +
		`"events":["app.events.notify"]}}}`
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		res, body := do(t, m, base+"/__runner/discovery", "")
		assert.Equal(t, 200, res.StatusCode)
		assert.Equal(t, want, body)
	}
	res, body := do(t, http.MethodPut, base+"/__runner/discovery", "")
	assertError(t, res, body, 405, "METHOD_NOT_ALLOWED")
	assert.Equal(t, "GET, POST, OPTIONS", res.Header.Get("Allow"))
}

func TestErrorPaths(t *testing.T) {
	_, base := start(t, cfg(t, `"maxBodySize":4096`), func(s *gohandlers.Set) {
		s.Task("fails", func([]byte) ([]byte, error) { return nil, errors.New("Operation failed: disk full") })
		s.Task("panics", func([]byte) ([]byte, error) { panic("boom") })
	})
	cases := []struct {
		name, method, path, body string
		status                   int
		codeName, message        string
	}{
		{"malformed json", "POST", "/__runner/task/app.tasks.add", `{"input":`, 400, "INVALID_JSON", ""},
		{"body not an object", "POST", "/__runner/task/app.tasks.add", `[1]`, 400, "INVALID_JSON", "must be a JSON object"},
		{"invalid utf8", "POST", "/__runner/task/app.tasks.add", "{\"input\":\"\xff\"}", 400, "INVALID_JSON", "UTF-8"},
		{"too deep", "POST", "/__runner/task/app.tasks.add", `{"input":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`, 400, "INVALID_JSON", "too deep"},
		{"unknown task", "POST", "/__runner/task/nope", `{}`, 404, "NOT_FOUND", "Task not found: nope"},
		{"unknown event", "POST", "/__runner/event/nope", `{}`, 404, "NOT_FOUND", "Event not found: nope"},
		{"unknown path under base", "POST", "/__runner/other", `{}`, 404, "NOT_FOUND", ""},
		{"outside base", "GET", "/elsewhere", ``, 404, "NOT_FOUND", ""},
		{"empty id", "POST", "/__runner/task/", `{}`, 404, "NOT_FOUND", ""},
		{"GET on a task", "GET", "/__runner/task/app.tasks.add", ``, 405, "METHOD_NOT_ALLOWED", ""},
		{"DELETE on an event", "DELETE", "/__runner/event/app.events.notify", ``, 405, "METHOD_NOT_ALLOWED", ""},
		{"bad utf8 id", "POST", "/__runner/task/%ff", `{}`, 400, "BAD_REQUEST", "UTF-8"},
		{"too large", "POST", "/__runner/task/app.tasks.echo", `{"input":"` + strings.Repeat("x", 5000) + `"}`, 413, "PAYLOAD_TOO_LARGE", "maxBodySize"},
		{"handler error", "POST", "/__runner/task/fails", `{}`, 500, "INTERNAL_ERROR", "Operation failed: disk full"},
		{"handler panic", "POST", "/__runner/task/panics", `{}`, 500, "INTERNAL_ERROR", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, body := do(t, c.method, base+c.path, c.body)
			e := assertError(t, res, body, c.status, c.codeName)
			assert.Contains(t, e.Error.Message, c.message)
			if c.status == 405 {
				assert.Equal(t, "POST, OPTIONS", res.Header.Get("Allow"))
			}
		})
	}
	// The server survived the panic.
	_, body := post(t, base+"/__runner/task/app.tasks.add", `{"input":{"a":1,"b":2}}`)
	assert.Equal(t, `{"ok":true,"result":3}`, body)
}

func TestHeadersTooLarge(t *testing.T) {
	_, base := start(t, cfg(t, `"maxHeaderSize":1024`), nil)
	res, body := do(t, "POST", base+"/__runner/task/app.tasks.add", `{}`, "X-Big", strings.Repeat("y", 2048))
	assertError(t, res, body, 431, "HEADERS_TOO_LARGE")
}

func TestIDsArePercentDecodedAndQueryIgnored(t *testing.T) {
	_, base := start(t, cfg(t, ""), func(s *gohandlers.Set) {
		for _, id := range []string{"a/b", "a.b", "✓ 😀", "x"} {
			id := id
			s.Task(id, func([]byte) ([]byte, error) { return json.Marshal(id) })
		}
	})
	for path, want := range map[string]string{
		"/__runner/task/a%2Fb":                      `"a/b"`,
		"/__runner/task/a%2eb":                      `"a.b"`,
		"/__runner/task/%E2%9C%93%20%F0%9F%98%80":   `"✓ 😀"`,
		"/__runner/task/x?input=ignored&task=other": `"x"`,
	} {
		res, body := post(t, base+path, `{}`)
		assert.Equal(t, 200, res.StatusCode, path)
		assert.Equal(t, `{"ok":true,"result":`+want+`}`, body, path)
	}
}

func TestBasePathConfig(t *testing.T) {
	_, base := start(t, cfg(t, `"basePath":"api/v1/"`), nil)
	_, body := post(t, base+"/api/v1/task/app.tasks.add", `{"input":{"a":1,"b":1}}`)
	assert.Equal(t, `{"ok":true,"result":2}`, body)
	res, body := post(t, base+"/__runner/task/app.tasks.add", `{}`)
	assertError(t, res, body, 404, "NOT_FOUND")
}

func TestCORSAnyOrigin(t *testing.T) {
	_, base := start(t, cfg(t, ""), nil)
	res, _ := post(t, base+"/__runner/task/app.tasks.add", `{"input":{"a":1,"b":1}}`)
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), "requests without Origin get it too")
	res, body := do(t, "POST", base+"/__runner/task/missing", `{}`, "Origin", "https://x.example")
	assertError(t, res, body, 404, "NOT_FOUND")
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"), "errors carry CORS headers")
}

func TestCORSListedOrigins(t *testing.T) {
	_, base := start(t, cfg(t, `"corsOrigins":["https://a.example"]`), nil)
	res, _ := do(t, "POST", base+"/__runner/task/app.tasks.add", `{"input":{"a":1,"b":1}}`, "Origin", "https://a.example")
	assert.Equal(t, "https://a.example", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Origin", res.Header.Get("Vary"))
	res, body := do(t, "POST", base+"/__runner/task/app.tasks.add", `{"input":{"a":1,"b":1}}`, "Origin", "https://evil.example")
	assert.Equal(t, 200, res.StatusCode, "CORS is enforced by browsers; the server still answers")
	assert.Equal(t, `{"ok":true,"result":2}`, body)
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Origin", res.Header.Get("Vary"))
}

func TestCORSPreflight(t *testing.T) {
	_, base := start(t, cfg(t, ""), nil)
	res, body := do(t, "OPTIONS", base+"/__runner/task/app.tasks.add", "",
		"Origin", "https://a.example", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type, x-runner-token")
	assert.Equal(t, 204, res.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "POST, OPTIONS", res.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "content-type, x-runner-token", res.Header.Get("Access-Control-Allow-Headers"))
	res, _ = do(t, "OPTIONS", base+"/__runner/discovery", "")
	assert.Equal(t, 204, res.StatusCode)
	assert.Equal(t, "GET, POST, OPTIONS", res.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Content-Type", res.Header.Get("Access-Control-Allow-Headers"))
}

// readResponses reads n HTTP responses from one connection, in order.
func readResponses(t *testing.T, conn net.Conn, n int) []string {
	t.Helper()
	r := bufio.NewReader(conn)
	var bodies []string
	for i := 0; i < n; i++ {
		res, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		res.Body.Close()
		bodies = append(bodies, fmt.Sprintf("%d %s", res.StatusCode, b))
	}
	return bodies
}

func rawPost(path, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
}

func TestKeepAlivePipeliningInOrder(t *testing.T) {
	srv, _ := start(t, cfg(t, ""), nil)
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	require.NoError(t, err)
	defer conn.Close()
	// A slow request first: later ones must still be answered after it, in order.
	batch := rawPost("/__runner/task/app.tasks.sleep", `{"input":{"ms":50}}`) +
		rawPost("/__runner/task/missing", `{}`) +
		rawPost("/__runner/task/app.tasks.add", `{"input":{"a":2,"b":2}}`) +
		rawPost("/__runner/task/app.tasks.add", `{"input":`)
	_, err = conn.Write([]byte(batch))
	require.NoError(t, err)
	got := readResponses(t, conn, 4)
	assert.Equal(t, `200 {"ok":true,"result":true}`, got[0])
	assert.True(t, strings.HasPrefix(got[1], `404 {"ok":false`), got[1])
	assert.Equal(t, `200 {"ok":true,"result":4}`, got[2])
	assert.True(t, strings.HasPrefix(got[3], `400 {"ok":false`), got[3])
	// The connection survived the errors.
	_, err = conn.Write([]byte(rawPost("/__runner/task/app.tasks.add", `{"input":{"a":3,"b":3}}`)))
	require.NoError(t, err)
	assert.Equal(t, []string{`200 {"ok":true,"result":6}`}, readResponses(t, conn, 1))
}

func TestConcurrentRequestsGetTheirOwnAnswers(t *testing.T) {
	_, base := start(t, cfg(t, ""), nil)
	replies := make([]<-chan testhttp.Reply, 200)
	for i := range replies {
		replies[i] = testhttp.PostAsync(base+"/__runner/task/app.tasks.echo", fmt.Sprintf(`{"input":{"n":%d}}`, i))
	}
	for i, ch := range replies {
		r := <-ch
		require.NoError(t, r.Err)
		assert.Equal(t, fmt.Sprintf(`{"ok":true,"result":{"n":%d}}`, i), r.Body)
	}
}

func TestCloseAnswersInFlightRequests(t *testing.T) {
	srv, base := start(t, cfg(t, ""), nil)
	replies := make([]<-chan testhttp.Reply, 20)
	for i := range replies {
		replies[i] = testhttp.PostAsync(base+"/__runner/task/app.tasks.sleep", `{"input":{"ms":200}}`)
	}
	require.Eventually(t, func() bool { return srv.Stats().InFlight.Load() == 20 }, 30*time.Second, time.Millisecond,
		"the requests are inside their handler")
	require.NoError(t, srv.Close(30*time.Second, nil))
	for _, ch := range replies {
		r := <-ch
		require.NoError(t, r.Err)
		assert.Equal(t, `{"ok":true,"result":true}`, r.Body)
	}
	_, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()), time.Second)
	assert.Error(t, err, "no longer accepting")
	assert.NoError(t, srv.Close(time.Second, nil), "Close is idempotent")
}

func TestListenErrorIsShapedLikeNodes(t *testing.T) {
	srv, _ := start(t, cfg(t, ""), nil)
	reg := new(registry.Registry)
	c := cfg(t, "")
	c.Port = srv.Port()
	err := server.New(c, reg, gohandlers.New(reg)).Listen()
	var le *server.ListenError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "EADDRINUSE", le.Code)
	assert.Equal(t, -98, le.Errno, "libuv's negative errno (Linux)")
	assert.Equal(t, "listen", le.Syscall)
	assert.Equal(t, "address already in use", le.Message)

	c.Host, c.Port = "203.0.113.1", 0 // TEST-NET-3: not an address of this machine
	err = server.New(c, reg, gohandlers.New(reg)).Listen()
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "EADDRNOTAVAIL", le.Code, "a real errno name, not a number")
}

func TestBadPercentEncodingIs400(t *testing.T) {
	srv, _ := start(t, cfg(t, ""), nil)
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte(rawPost("/__runner/task/a%zz", `{}`)))
	require.NoError(t, err)
	got := readResponses(t, conn, 1)
	assert.True(t, strings.HasPrefix(got[0], `400 {"ok":false,"error":{"code":400,"message":"Invalid id: malformed percent-encoding`), got[0])
	assert.Contains(t, got[0], `"codeName":"BAD_REQUEST"`)
}

func TestMalformedHTTPGets400AndClose(t *testing.T) {
	srv, _ := start(t, cfg(t, ""), nil)
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("POST /__runner/task/x HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"))
	require.NoError(t, err)
	got := readResponses(t, conn, 1)
	assert.True(t, strings.HasPrefix(got[0], `400 {"ok":false,"error":{"code":400`), got[0])
}
