package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// seen is what an Invoker was given.
type seen struct {
	op       server.Op
	check    uint16
	id       string
	input    string
	hasInput bool
	extras   map[int]string
}

// recorder is an Invoker that records every call and answers with answer.
type recorder struct {
	mu     sync.Mutex
	calls  []seen
	answer func(c *server.Call)
}

func (r *recorder) Invoke(c *server.Call) {
	s := seen{op: c.Op, check: c.Check, id: string(c.ID), input: string(c.Input), hasInput: c.HasInput, extras: map[int]string{}}
	for tag, x := range c.Extras {
		if x != nil {
			s.extras[tag] = string(x)
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
	r.answer(c)
}

func (r *recorder) last() seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[len(r.calls)-1]
}

// echo answers tasks with their input (or the Undefined tag runner's serializer sends),
// refuses checks, and answers events without a result.
func echo(c *server.Call) {
	switch {
	case c.Op == server.OpCheck:
		c.SetVerdict(false, nil)
	case c.Op == server.OpEvent:
		c.SetNoResult()
	case c.HasInput:
		c.SetResult(c.Input)
	default:
		c.SetResult([]byte(`{"__type":"Undefined","value":null}`))
	}
}

// startRunner serves the runner protocol with fields (TunnelConfig JSON) and ids:
// task app.add, event app.ev, task app.hidden (not listed), app.gone (missing: 404).
func startRunner(t *testing.T, fields string, answer func(c *server.Call)) (*recorder, string) {
	t.Helper()
	c := cfg(t, `"protocol":"runner"`+prefixComma(fields))
	reg := new(registry.Registry)
	reg.Apply(0, []registry.Registration{
		{Kind: route.Task, ID: "app.add", Slot: 0, Listed: true},
		{Kind: route.Event, ID: "app.ev", Slot: 1, Listed: true},
		{Kind: route.Task, ID: "app.hidden", Slot: 2},
		{Kind: route.Task, ID: "app.gone", Missing: true, Listed: true},
	})
	rec := &recorder{answer: answer}
	srv := server.New(c, reg, rec)
	require.NoError(t, srv.Listen())
	t.Cleanup(func() { _ = srv.Close(time.Second, nil) })
	return rec, fmt.Sprintf("http://127.0.0.1:%d", srv.Port())
}

func prefixComma(s string) string {
	if s == "" {
		return ""
	}
	return "," + s
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const anonymous = `"auth":{"allowAnonymous":true}`

// Each case: a request and runner's exact answer (status, body, whether it carries a
// request id). Runner's texts come from src/node/exposure/*@5.5.0.
func TestRunnerProtocolTable(t *testing.T) {
	_, base := startRunner(t, anonymous, echo)
	cases := []struct {
		name, method, path, body string
		status                   int
		want                     string
		requestID                bool
	}{
		{"task", "POST", "/__runner/task/app.add", `{"input":{"a":1}}`, 200, `{"ok":true,"result":{"a":1}}`, true},
		{"task without input key: the whole object", "POST", "/__runner/task/app.add", `{"a":1}`, 200, `{"ok":true,"result":{"a":1}}`, true},
		{"non-object body is the input", "POST", "/__runner/task/app.add", `[1,2]`, 200, `{"ok":true,"result":[1,2]}`, true},
		{"empty body: undefined", "POST", "/__runner/task/app.add", ``, 200, `{"ok":true,"result":{"__type":"Undefined","value":null}}`, true},
		{"unlisted but registered", "POST", "/__runner/task/app.hidden", `{"input":1}`, 200, `{"ok":true,"result":1}`, true},
		{"event", "POST", "/__runner/event/app.ev", `{"payload":1}`, 200, `{"ok":true}`, true},
		{"outside the base path", "GET", "/elsewhere", ``, 404, `{"ok":false,"error":{"message":"Not Found","code":"NOT_FOUND"}}`, false},
		{"unknown route under the base", "POST", "/__runner/nope", `{}`, 404, `{"ok":false,"error":{"message":"Not Found","code":"NOT_FOUND"}}`, true},
		{"GET on a task", "GET", "/__runner/task/app.add", ``, 405, `{"ok":false,"error":{"message":"Method Not Allowed","code":"METHOD_NOT_ALLOWED"}}`, true},
		{"POST on discovery", "POST", "/__runner/discovery", `{}`, 405, `{"ok":false,"error":{"message":"Method Not Allowed","code":"METHOD_NOT_ALLOWED"}}`, true},
		{"405 before 403", "GET", "/__runner/task/not.exposed", ``, 405, `{"ok":false,"error":{"message":"Method Not Allowed","code":"METHOD_NOT_ALLOWED"}}`, true},
		{"unknown task: not exposed", "POST", "/__runner/task/not.exposed", `{}`, 403, `{"ok":false,"error":{"message":"Task not.exposed not exposed","code":"FORBIDDEN"}}`, true},
		{"unknown event: not exposed", "POST", "/__runner/event/x", `{}`, 403, `{"ok":false,"error":{"message":"Event x not exposed","code":"FORBIDDEN"}}`, true},
		{"allowed but missing", "POST", "/__runner/task/app.gone", `{}`, 404, `{"ok":false,"error":{"message":"Task app.gone not found","code":"NOT_FOUND"}}`, true},
		{"bad JSON", "POST", "/__runner/task/app.add", `{"input":`, 400, `{"ok":false,"error":{"message":"Invalid JSON body","code":"INVALID_JSON"}}`, true},
		{"bad id encoding", "POST", "/__runner/task/%ff", `{}`, 404, `{"ok":false,"error":{"message":"Not Found","code":"NOT_FOUND"}}`, true},
		{"discovery", "GET", "/__runner/discovery", ``, 200, `{"ok":true,"result":{"allowList":{"enabled":true,"tasks":["app.add","app.gone"],"events":["app.ev"]}}}`, true},
	}
	for _, c := range cases {
		res, body := do(t, c.method, base+c.path, c.body)
		assert.Equal(t, c.status, res.StatusCode, c.name)
		assert.Equal(t, c.want, body, c.name)
		assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"), c.name)
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), c.name)
		assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), c.name)
		assert.Equal(t, c.requestID, uuidV4.MatchString(res.Header.Get("X-Runner-Request-Id")), c.name)
		assert.Empty(t, res.Header.Get("Allow"), "runner sends no Allow header: "+c.name)
	}
}

func TestRunnerRequestIDIsKeptWhenValid(t *testing.T) {
	rec, base := startRunner(t, anonymous, echo)
	for given, want := range map[string]string{
		"  trace-1.2:3_4  ":      "trace-1.2:3_4",
		strings.Repeat("a", 128): strings.Repeat("a", 128),
	} {
		res, _ := do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "X-Runner-Request-Id", given)
		assert.Equal(t, want, res.Header.Get("X-Runner-Request-Id"))
		assert.Equal(t, want, rec.last().extras[wire.ExtraRequestID], "JavaScript gets it for its logs")
	}
	for _, invalid := range []string{strings.Repeat("a", 129), "has space", "é", ""} {
		res, _ := do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "X-Runner-Request-Id", invalid)
		assert.Regexp(t, uuidV4, res.Header.Get("X-Runner-Request-Id"), "%q is replaced", invalid)
	}
}

func TestRunnerAuth(t *testing.T) {
	t.Run("fails closed without configuration", func(t *testing.T) {
		_, base := startRunner(t, "", echo)
		for _, p := range []string{"/__runner/task/app.add", "/__runner/discovery"} {
			method := "POST"
			if strings.HasSuffix(p, "discovery") {
				method = "GET"
			}
			res, body := do(t, method, base+p, `{}`)
			assert.Equal(t, 500, res.StatusCode, p)
			assert.Equal(t, `{"ok":false,"error":{"message":"Authentication not configured.","code":"AUTH_NOT_CONFIGURED"}}`, body, p)
		}
	})
	t.Run("any of several tokens, custom header", func(t *testing.T) {
		_, base := startRunner(t, `"auth":{"token":["one","two"],"header":"X-Key"}`, echo)
		for token, status := range map[string]int{"one": 200, "two": 200, "three": 401, "": 401} {
			res, body := do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "X-Key", token)
			assert.Equal(t, status, res.StatusCode, token)
			if status == 401 {
				assert.Equal(t, `{"ok":false,"error":{"message":"Unauthorized","code":"UNAUTHORIZED"}}`, body)
			}
		}
		res, _ := do(t, "POST", base+"/__runner/task/not.exposed", `{}`, "X-Key", "nope")
		assert.Equal(t, 401, res.StatusCode, "auth before 403")
	})
	t.Run("a validator is asked when the token does not match", func(t *testing.T) {
		rec, base := startRunner(t, `"auth":{"token":"t"},"authValidator":{"$js":"function","text":"[function]"}`, func(c *server.Call) {
			if c.Op == server.OpCheck {
				c.SetVerdict(c.Header != nil && string(c.Header.Peek("X-Ok")) == "yes", nil)
				return
			}
			echo(c)
		})
		res, _ := do(t, "POST", base+"/__runner/task/app.add?q=1", `{"input":1}`, "X-Ok", "yes")
		assert.Equal(t, 200, res.StatusCode)
		var check seen
		for _, s := range rec.calls {
			if s.op == server.OpCheck {
				check = s
			}
		}
		assert.EqualValues(t, wire.CheckAuth, check.check)
		assert.Regexp(t, uuidV4, check.extras[wire.ExtraRequestID], "the validator sees the request id, as runner's does in its headers")
		id := check.extras[wire.ExtraRequestID]
		delete(check.extras, wire.ExtraRequestID)
		var headers map[string]string
		require.NoError(t, json.Unmarshal([]byte(check.extras[wire.ExtraHeaders]), &headers), "the headers come with the question")
		assert.Equal(t, "yes", headers["x-ok"])
		assert.Equal(t, id, headers["x-runner-request-id"], "with the request id among them, as runner writes it there")
		delete(check.extras, wire.ExtraHeaders)
		assert.Equal(t, map[int]string{wire.ExtraMethod: "POST", wire.ExtraURL: "/__runner/task/app.add?q=1", wire.ExtraPath: "/__runner/task/app.add"}, check.extras)
		res, _ = do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "X-Ok", "no")
		assert.Equal(t, 401, res.StatusCode)
		res, _ = do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "X-Runner-Token", "t")
		assert.Equal(t, 200, res.StatusCode, "a matching token needs no validator")
	})
}

func TestRunnerExposureClosedAndOpen(t *testing.T) {
	_, base := startRunner(t, anonymous+`,"exposure":"closed"`, echo)
	res, body := do(t, "POST", base+"/__runner/task/app.add", `{}`)
	assert.Equal(t, 403, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"message":"Exposure not enabled","code":"FORBIDDEN"}}`, body)
	_, body = do(t, "GET", base+"/__runner/discovery", ``)
	assert.Contains(t, body, `"enabled":false`)

	_, base = startRunner(t, anonymous+`,"exposure":"open"`, echo)
	res, body = do(t, "POST", base+"/__runner/task/unknown", `{}`)
	assert.Equal(t, 404, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"message":"Task unknown not found","code":"NOT_FOUND"}}`, body)
}

func TestRunnerDisableDiscovery(t *testing.T) {
	_, base := startRunner(t, anonymous+`,"disableDiscovery":true`, echo)
	res, body := do(t, "POST", base+"/__runner/discovery", ``)
	assert.Equal(t, 404, res.StatusCode, "disabled is checked before the method")
	assert.Equal(t, `{"ok":false,"error":{"message":"Not Found","code":"NOT_FOUND"}}`, body)
}

func TestRunnerEventsAndContexts(t *testing.T) {
	rec, base := startRunner(t, anonymous, echo)
	_, _ = do(t, "POST", base+"/__runner/event/app.ev", `{"payload":{"m":1},"returnPayload":true}`, "X-Runner-Context", `{"app.ctx":"\"v\""}`)
	got := rec.last()
	assert.Equal(t, `{"m":1}`, got.input)
	assert.Equal(t, "true", got.extras[wire.ExtraReturnPayload])
	assert.Equal(t, `{"app.ctx":"\"v\""}`, got.extras[wire.ExtraContext])
	_, _ = do(t, "POST", base+"/__runner/event/app.ev", `5`)
	assert.False(t, rec.last().hasInput, "a non-object event body has no payload")
}

func TestRunnerCallsCarryTheRequestTarget(t *testing.T) {
	rec, base := startRunner(t, anonymous, echo)
	_, _ = do(t, "POST", base+"/__runner/task/app.add?x=1&y=%20", `{"input":1}`)
	assert.Equal(t, "/__runner/task/app.add?x=1&y=%20", rec.last().extras[wire.ExtraURL], "for useExposureContext().url")
	_, _ = do(t, "POST", base+"/__runner/event/app.ev", `{"payload":1}`)
	assert.Equal(t, "/__runner/event/app.ev", rec.last().extras[wire.ExtraURL])
}

// A raw body (application/octet-stream, any case, with parameters) goes to the task as
// a stream and no input, as runner hands it over; a multipart body is read as a form
// (here: not one, so runner's 400).
func TestRunnerRawBodiesAreStreamed(t *testing.T) {
	rec, base := startRunner(t, anonymous, echo)
	for _, ct := range []string{"application/octet-stream", "Application/Octet-Stream; x=1"} {
		req, err := http.NewRequest("POST", base+"/__runner/task/app.add", strings.NewReader(`{"input":"not json's business"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		assert.Equal(t, 200, res.StatusCode, ct)
		assert.Equal(t, `{"ok":true,"result":{"__type":"Undefined","value":null}}`, string(b), ct)
		assert.False(t, rec.last().hasInput, "the task gets undefined; the body is a stream")
	}
	req, err := http.NewRequest("POST", base+"/__runner/task/app.add", strings.NewReader("x"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"message":"Invalid multipart payload","code":"INVALID_MULTIPART"}}`, string(b))
}

func TestRunnerPreflightAndCORS(t *testing.T) {
	_, base := startRunner(t, anonymous+`,"cors":{"origin":["https://app.example"],"credentials":true,"exposedHeaders":["x-runner-request-id"]}`, echo)
	res, body := do(t, "OPTIONS", base+"/__runner/task/anything", ``, "Origin", "https://app.example", "Access-Control-Request-Headers", "content-type,x-runner-token")
	assert.Equal(t, 204, res.StatusCode)
	assert.Empty(t, body)
	assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "POST, OPTIONS", res.Header.Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "content-type,x-runner-token", res.Header.Get("Access-Control-Allow-Headers"))
	assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	assert.Empty(t, res.Header.Get("X-Content-Type-Options"), "preflight carries no security headers")
	assert.Empty(t, res.Header.Get("X-Runner-Request-Id"), "nor a request id")
	res, _ = do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "Origin", "https://evil.example")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Origin", res.Header.Get("Vary"))
	assert.Equal(t, "x-runner-request-id", res.Header.Get("Access-Control-Expose-Headers"))
}

func TestRunnerDynamicOriginAsksJavaScriptOncePerOriginForARegExp(t *testing.T) {
	rec, base := startRunner(t, anonymous+`,"cors":{"origin":{"$js":"regexp","text":"/app/"}}`, func(c *server.Call) {
		if c.Op == server.OpCheck {
			origin := c.Extras[wire.ExtraOrigin]
			c.SetVerdict(strings.Contains(string(origin), "app"), origin)
			return
		}
		echo(c)
	})
	checks := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, s := range rec.calls {
			if s.op == server.OpCheck {
				n++
			}
		}
		return n
	}
	for i := 0; i < 3; i++ {
		res, _ := do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "Origin", "https://app.example")
		assert.Equal(t, "https://app.example", res.Header.Get("Access-Control-Allow-Origin"))
	}
	assert.Equal(t, 1, checks(), "a RegExp's answer is remembered per origin")
	res, _ := do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "Origin", "https://other.example")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
	res, _ = do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`)
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "no Origin: a RegExp allows nothing, JavaScript is not asked")
	assert.Equal(t, 2, checks())
}

func TestRunnerHandlerErrors(t *testing.T) {
	_, base := startRunner(t, anonymous, func(c *server.Call) {
		if string(c.ID) == "app.add" && string(c.Input) == `"typed"` {
			c.SetHandlerError(409, nil, []byte("Conflict!"), []byte("app.errors.conflict"), []byte(`{"k":1}`), 409, false)
			return
		}
		c.SetHandlerError(500, nil, []byte("secret detail"), nil, nil, 0, false)
	})
	res, body := do(t, "POST", base+"/__runner/task/app.add", `{"input":"typed"}`)
	assert.Equal(t, 409, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"message":"Conflict!","code":"INTERNAL_ERROR","id":"app.errors.conflict","data":{"k":1},"httpCode":409}}`, body)
	res, body = do(t, "POST", base+"/__runner/task/app.add", `{"input":"plain"}`)
	assert.Equal(t, 500, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"message":"Internal Error","code":"INTERNAL_ERROR"}}`, body, "untyped errors never leak their message")
}

func TestRunnerHeaderLimitIsNodes(t *testing.T) {
	_, base := startRunner(t, anonymous, echo)
	res, _ := do(t, "POST", base+"/__runner/task/app.add", `{"input":1}`, "X-Runner-Context", strings.Repeat("c", 12<<10))
	assert.Equal(t, 200, res.StatusCode, "a 12 KiB context header fits runner's 16 KiB default")
}

// Runner reads a body only after 405, auth, 403 and 404 (taskHandler.ts@5.5.0), so an
// oversized body gets those answers first, and 413 only when it would be read.
func TestRunnerBodyLimitComesAfterEarlierChecks(t *testing.T) {
	_, base := startRunner(t, `"auth":{"token":"t"},"maxBodySize":1024`, echo)
	big := `"` + strings.Repeat("x", 2048) + `"`
	cases := []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"read: 413", "POST", "/__runner/task/app.add", "t", big, 413},
		{"wrong token first", "POST", "/__runner/task/app.add", "bad", big, 401},
		{"method first", "PUT", "/__runner/task/app.add", "t", big, 405},
		{"exposure first", "POST", "/__runner/task/not.exposed", "t", big, 403},
		{"missing id first", "POST", "/__runner/task/app.gone", "t", big, 404},
		{"no route first", "POST", "/__runner/nothing", "t", big, 404},
		{"discovery ignores the body", "GET", "/__runner/discovery", "t", big, 200},
		{"exactly the limit", "POST", "/__runner/task/app.add", "t", `"` + strings.Repeat("y", 1022) + `"`, 200},
		{"one byte over", "POST", "/__runner/task/app.add", "t", `"` + strings.Repeat("y", 1023) + `"`, 413},
	}
	for _, c := range cases {
		res, body := do(t, c.method, base+c.path, c.body, "X-Runner-Token", c.token)
		assert.Equal(t, c.status, res.StatusCode, c.name)
		if c.status == 413 {
			assert.Equal(t, `{"ok":false,"error":{"message":"Payload too large","code":"PAYLOAD_TOO_LARGE"}}`, body, c.name)
		}
		if c.status == 200 && c.path == "/__runner/task/app.add" {
			assert.Equal(t, `{"ok":true,"result":`+c.body+`}`, body, "the whole body arrives")
		}
	}
	for _, size := range []int{100, 5000} {
		req, err := http.NewRequest("POST", base+"/__runner/task/app.add", io.MultiReader(strings.NewReader(`"`), strings.NewReader(strings.Repeat("z", size)), strings.NewReader(`"`)))
		require.NoError(t, err)
		req.ContentLength = -1 // chunked
		req.Header.Set("X-Runner-Token", "t")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if size < 1024 {
			assert.Equal(t, 200, res.StatusCode, "a small chunked body")
			assert.Equal(t, `{"ok":true,"result":"`+strings.Repeat("z", size)+`"}`, string(b))
		} else {
			assert.Equal(t, 413, res.StatusCode, "a chunked body over the limit")
		}
	}
}

func TestRunnerStalledBodyIsRequestTimeout(t *testing.T) {
	_, base := startRunner(t, anonymous+`,"readTimeoutMs":200`, echo)
	for _, sent := range []int{2, 9000} { // within fasthttp's first read, and past it
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		require.NoError(t, err)
		body := strings.Repeat("1", sent)
		_, err = fmt.Fprintf(conn, "POST /__runner/task/app.add HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", sent+10, body)
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		all, _ := io.ReadAll(conn)
		conn.Close()
		assert.True(t, strings.HasPrefix(string(all), "HTTP/1.1 408 Request Timeout\r\n"), "%d bytes sent: %q", sent, all)
		assert.True(t, strings.HasSuffix(string(all), "Connection: close\r\n\r\n"), "Node's bare answer: %q", all)
	}
}

// What Node's own HTTP server rejects before runner's exposure runs gets Node's bare
// answer: the status line, Connection: close, no body, so runner's clients see
// HTTP_ERROR with the status, as they do from nodeExposure.
func TestRunnerClientErrorsAreNodesBareAnswers(t *testing.T) {
	_, base := startRunner(t, anonymous+`,"readTimeoutMs":300`, echo)
	addr := strings.TrimPrefix(base, "http://")
	for _, c := range []struct {
		name, request, status string
	}{
		{"headers over the limit", "POST /__runner/task/app.add HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 20<<10) + "\r\nContent-Length: 2\r\n\r\n{}", "HTTP/1.1 431 Request Header Fields Too Large\r\n"},
		{"malformed", "POST /__runner/task/app.add HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n"},
		{"unknown method", "BREW /__runner/task/app.add HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 501 Not Implemented\r\n"},
		{"headers that never end", "POST /__runner/task/app.add HTTP/1.1\r\nHost: x\r\n", "HTTP/1.1 408 Request Timeout\r\n"},
		{"a broken chunk", "POST /__runner/task/app.add HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 400 Bad Request\r\n"},
	} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		_, err = conn.Write([]byte(c.request))
		require.NoError(t, err, c.name)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
		all, _ := io.ReadAll(conn)
		conn.Close()
		text := string(all)
		assert.True(t, strings.HasPrefix(text, c.status), "%s: %q", c.name, text)
		assert.Contains(t, text, "Connection: close\r\n", c.name)
		assert.True(t, strings.HasSuffix(text, "\r\n\r\n"), "%s: no body: %q", c.name, text)
		for _, h := range []string{"X-Runner-Request-Id", "Access-Control-Allow-Origin", "X-Content-Type-Options", "Content-Type"} {
			assert.NotContains(t, text, h+":", c.name)
		}
	}
}

// Node joins a repeated header's values with ", " (but for a few, such as
// authorization, where it keeps the first); runner reads the joined value.
func TestRunnerRepeatedHeadersReadAsNodeJoinsThem(t *testing.T) {
	rec, base := startRunner(t, `"auth":{"token":["good","good, other"]}`, echo)
	send := func(headers ...string) (int, http.Header) {
		req, err := http.NewRequest("POST", base+"/__runner/task/app.add", strings.NewReader(`{"input":1}`))
		require.NoError(t, err)
		for i := 0; i < len(headers); i += 2 {
			req.Header.Add(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, res.Header
	}
	status, _ := send("X-Runner-Token", "good", "X-Runner-Token", "bad")
	assert.Equal(t, 401, status, `"good, bad" is no token`)
	status, _ = send("X-Runner-Token", "good", "X-Runner-Token", "other")
	assert.Equal(t, 200, status, `"good, other" is one`)
	_, h := send("X-Runner-Token", "good", "X-Runner-Request-Id", "a", "X-Runner-Request-Id", "b")
	assert.Regexp(t, uuidV4, h.Get("X-Runner-Request-Id"), `"a, b" is no valid id`)
	send("X-Runner-Token", "good", "X-Runner-Context", `{"x":"1"}`, "X-Runner-Context", `{"y":"2"}`)
	_, has := rec.last().extras[wire.ExtraContext]
	assert.False(t, has, "two contexts joined parse as nothing")
	send("X-Runner-Token", "good", "X-Runner-Context", `{"x":"1"}`)
	assert.Equal(t, `{"x":"1"}`, rec.last().extras[wire.ExtraContext])

	_, base = startRunner(t, `"auth":{"token":"good","header":"Authorization"}`, echo)
	req, err := http.NewRequest("POST", base+"/__runner/task/app.add", strings.NewReader(`{"input":1}`))
	require.NoError(t, err)
	req.Header.Add("Authorization", "good")
	req.Header.Add("Authorization", "bad")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode, "Node keeps the first Authorization")
}
