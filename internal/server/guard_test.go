package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/server"
)

// rawConn is one connection to srv, read response by response.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, srv *server.Server) *rawConn {
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &rawConn{t, conn, bufio.NewReader(conn)}
}

func (c *rawConn) send(s string) {
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.t, err)
}

func (c *rawConn) response() (*http.Response, string) {
	res, err := http.ReadResponse(c.r, nil)
	require.NoError(c.t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res, string(b)
}

// closed asserts that nothing more comes and the server closes the connection.
func (c *rawConn) closed() {
	rest, err := io.ReadAll(c.r)
	require.NoError(c.t, err)
	assert.Empty(c.t, string(rest))
}

// The guard's own answers are the protocol's envelopes with the server's CORS header,
// are counted, and close the connection.
func TestGuardAnswersAreEnvelopesAndCounted(t *testing.T) {
	srv, _ := start(t, cfg(t, `"maxHeaderSize":1024`), nil)
	for _, tc := range []struct{ send, want string }{
		{"BREW /__runner/discovery HTTP/1.1\r\nHost: x\r\n\r\n",
			`{"ok":false,"error":{"code":501,"message":"Unknown method","codeName":"NOT_IMPLEMENTED"}}`},
		{"GET /__runner/discovery HTTP/3.0\r\nHost: x\r\n\r\n",
			`{"ok":false,"error":{"code":505,"message":"Only HTTP/1.0 and HTTP/1.1 are supported","codeName":"HTTP_VERSION_NOT_SUPPORTED"}}`},
		{"GET /__runner/discovery HTTP/1.1\r\nHost: x\r\nX: " + string(make([]byte, 2000)) + "\r\n\r\n",
			`{"ok":false,"error":{"code":431,"message":"Request headers exceed maxHeaderSize (1024 bytes)","codeName":"HEADERS_TOO_LARGE"}}`},
	} {
		before := srv.Stats().Status4xx.Load() + srv.Stats().Status5xx.Load()
		c := dialRaw(t, srv)
		c.send(tc.send)
		res, body := c.response()
		assert.Equal(t, tc.want, body)
		assert.Equal(t, "application/json; charset=utf-8", res.Header.Get("Content-Type"))
		assert.Equal(t, "*", res.Header.Get("Access-Control-Allow-Origin"))
		assert.True(t, res.Close, "Connection: close")
		c.closed()
		assert.Equal(t, before+1, srv.Stats().Status4xx.Load()+srv.Stats().Status5xx.Load())
	}
}

// A chunked body that breaks the rules after its head went on (here: once 100 Continue
// was sent) is answered by the server's error handler with the guard's reason, once.
func TestGuardRefusalInsideABodyIsAnsweredOnce(t *testing.T) {
	srv, _ := start(t, cfg(t, ""), nil)
	c := dialRaw(t, srv)
	c.send("POST /__runner/task/app.tasks.add HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
	res, _ := c.response()
	require.Equal(t, 100, res.StatusCode)
	c.send("2\r\n{}XX")
	res, body := c.response()
	assert.Equal(t, 400, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"code":400,"message":"Chunk data not followed by CRLF","codeName":"BAD_REQUEST"}}`, body)
	c.closed()
}

// Beyond maxConnections a connection gets the JSON 503, not fasthttp's plain text.
func TestMaxConnectionsAnswersTheEnvelope(t *testing.T) {
	srv, _ := start(t, cfg(t, `"maxConnections":1`), nil)
	first := dialRaw(t, srv)
	first.send(rawPost("/__runner/task/app.tasks.add", `{"input":{"a":1,"b":1}}`))
	res, _ := first.response()
	require.Equal(t, 200, res.StatusCode)

	second := dialRaw(t, srv)
	res, body := second.response()
	assert.Equal(t, 503, res.StatusCode)
	assert.Equal(t, `{"ok":false,"error":{"code":503,"message":"Too many connections (maxConnections=1)","codeName":"SERVICE_UNAVAILABLE"}}`, body)
	second.closed()
	assert.EqualValues(t, 1, srv.Stats().Status5xx.Load())
}

// stats.rejectedHTTP counts by one rule in both protocols: a request whose bytes broke
// HTTP's rules (every guard refusal, before fasthttp or inside a body, and what fasthttp
// could not parse), never a limit of the server's own (413 maxBodySize, 503
// maxConnections).
func TestRejectedHTTPOneRule(t *testing.T) {
	for _, proto := range []string{`"protocol":"seed"`, `"protocol":"runner",` + anonymous} {
		srv, _ := start(t, cfg(t, proto+`,"maxBodySize":16,"maxHeaderSize":1024`), nil)
		rejected := func() uint64 { return srv.Stats().RejectedHTTP.Load() }

		// A guard refusal before fasthttp reads anything: counted.
		c := dialRaw(t, srv)
		c.send("BREW /__runner/discovery HTTP/1.1\r\nHost: x\r\n\r\n")
		res, _ := c.response()
		assert.Equal(t, 501, res.StatusCode, proto)
		c.closed()
		assert.EqualValues(t, 1, rejected(), proto)

		// A guard refusal inside a chunked body, once fasthttp had the head: counted.
		c = dialRaw(t, srv)
		c.send("POST /__runner/task/app.tasks.add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX")
		res, _ = c.response()
		assert.Equal(t, 400, res.StatusCode, proto)
		c.closed()
		assert.EqualValues(t, 2, rejected(), proto)

		// A chunk line past maxHeaderSize, inside a body: the guard's 413, counted as
		// every guard refusal is (runner mode did not count it before).
		c = dialRaw(t, srv)
		c.send("POST /__runner/task/app.tasks.add HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2;a=" + strings.Repeat("x", 1100) + "\r\n{}\r\n0\r\n\r\n")
		res, _ = c.response()
		assert.Equal(t, 413, res.StatusCode, proto)
		c.closed()
		assert.EqualValues(t, 3, rejected(), proto)

		// A body past maxBodySize: the server's limit, not counted.
		c = dialRaw(t, srv)
		c.send(rawPost("/__runner/task/app.tasks.add", `{"input":{"a":1,"b":2,"c":3}}`))
		res, _ = c.response()
		assert.Equal(t, 413, res.StatusCode, proto)
		assert.EqualValues(t, 3, rejected(), proto)
		_ = c.conn.Close()

		// Past maxConnections (a server of its own, so no connection above is still
		// closing): the server's limit, not counted.
		limited, _ := start(t, cfg(t, proto+`,"maxConnections":1`), nil)
		held := dialRaw(t, limited)
		held.send("GET /__runner/discovery HTTP/1.1\r\nHost: x\r\n\r\n")
		res, _ = held.response()
		require.Equal(t, 200, res.StatusCode, proto)
		over := dialRaw(t, limited)
		res, _ = over.response()
		assert.Equal(t, 503, res.StatusCode, proto)
		over.closed()
		assert.EqualValues(t, 1, limited.Stats().Status5xx.Load(), proto)
		assert.EqualValues(t, 0, limited.Stats().RejectedHTTP.Load(), proto)
	}
}
