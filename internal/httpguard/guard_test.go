package httpguard_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/httpguard"
)

// server is a fasthttp server on 127.0.0.1 behind the guard. Its handler answers
// "<method> <uri> <body>"; its error handler answers a refusal the guard hands it.
type server struct {
	addr   string
	ln     *httpguard.Listener
	served atomic.Int32 // requests that reached the handler
	conns  chan net.Conn
}

func start(t *testing.T, cfg httpguard.Config, setup func(*fasthttp.Server)) *server {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &server{addr: inner.Addr().String(), ln: httpguard.NewListener(inner, cfg), conns: make(chan net.Conn, 16)}
	fs := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			srv.served.Add(1)
			select {
			case srv.conns <- ctx.Conn():
			default:
			}
			fmt.Fprintf(ctx, "%s %s %s", ctx.Method(), ctx.RequestURI(), ctx.PostBody())
		},
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if r, ok := httpguard.RejectionOf(ctx.Conn()); ok {
				ctx.SetStatusCode(r.Status)
				ctx.SetBodyString(r.Code + ": " + r.Message)
				return
			}
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			ctx.SetBodyString("fasthttp: " + err.Error())
		},
		Logger: silent{},
	}
	if setup != nil {
		setup(fs)
	}
	go func() { _ = fs.Serve(srv.ln) }()
	t.Cleanup(func() { _ = fs.Shutdown() })
	return srv
}

type silent struct{}

func (silent) Printf(string, ...any) {}

// client is one raw connection to the server.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, s *server) *client {
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	_, err := c.c.Write([]byte(s))
	require.NoError(c.t, err)
}

// response reads one whole response.
func (c *client) response() (int, string) {
	res, err := http.ReadResponse(c.br, nil)
	require.NoError(c.t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res.StatusCode, string(body)
}

// closed asserts that the server sends nothing more and closes the connection.
func (c *client) closed() {
	rest, err := io.ReadAll(c.br)
	require.NoError(c.t, err)
	assert.Empty(c.t, string(rest))
}

const host = "Host: x\r\n"

func TestSmuggledRequestIsNeverServed(t *testing.T) {
	s := start(t, httpguard.Config{}, nil)
	c := dial(t, s)
	c.send("POST /a HTTP/1.1\r\n" + host + "Dummy: x\nContent-Length: 23\r\n\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n")
	status, body := c.response()
	assert.Equal(t, 400, status)
	assert.Equal(t, `{"ok":false,"error":{"code":400,"message":"Lines must end with CRLF","codeName":"BAD_REQUEST"}}`, body)
	c.closed()
	assert.Zero(t, s.served.Load())
}

func TestRequestsBeforeARefusalAreAnswered(t *testing.T) {
	s := start(t, httpguard.Config{}, nil)
	c := dial(t, s)
	c.send("GET /a HTTP/1.1\r\n" + host + "\r\nPOST /b HTTP/1.1\r\n" + host + "Content-Length: 2\r\n\r\n{}BREW /c HTTP/1.1\r\n" + host + "\r\n")
	status, body := c.response()
	assert.Equal(t, 200, status)
	assert.Equal(t, "GET /a ", body)
	status, body = c.response()
	assert.Equal(t, 200, status)
	assert.Equal(t, "POST /b {}", body)
	status, body = c.response()
	assert.Equal(t, 501, status)
	assert.Contains(t, body, `"codeName":"NOT_IMPLEMENTED"`)
	c.closed()
	assert.EqualValues(t, 2, s.served.Load())
}

// Two complete requests and the start of a third: both are answered while the third
// is still incomplete.
func TestPipelinedRequestsAreAnsweredBeforeTheNextCompletes(t *testing.T) {
	for _, third := range []string{
		"GET /c HTTP/1.1\r\nHo", // head incomplete
		"POST /c HTTP/1.1\r\n" + host + "Content-Length: 6\r\n\r\n{", // body incomplete
	} {
		s := start(t, httpguard.Config{}, nil)
		c := dial(t, s)
		c.send("GET /a HTTP/1.1\r\n" + host + "\r\nGET /b HTTP/1.1\r\n" + host + "\r\n" + third)
		_, body := c.response()
		assert.Equal(t, "GET /a ", body)
		_, body = c.response()
		assert.Equal(t, "GET /b ", body)
		want := "GET /c "
		if strings.HasSuffix(third, "Ho") {
			c.send("st: x\r\n\r\n")
		} else {
			c.send(`"":1}`)
			want = `POST /c {"":1}`
		}
		status, body := c.response()
		assert.Equal(t, 200, status)
		assert.Equal(t, want, body)
	}
}

// The head of a chunked request goes on as soon as it is complete; when its body then
// breaks the rules, fasthttp's error handler answers with the guard's refusal, once.
func TestRefusalInsideABodyIsAnsweredOnce(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"2;bad ext\r\n{}\r\n0\r\n\r\n", "BAD_REQUEST: Invalid chunk extension"},              // inside a line fasthttp reads
		{"2\r\n{}\r\nzz\r\n", "BAD_REQUEST: Invalid chunk size"},                              // where fasthttp's next line starts
		{"2;a=" + strings.Repeat("b", 9000), "PAYLOAD_TOO_LARGE: Chunk extensions too large"}, // before the line ends
	} {
		s := start(t, httpguard.Config{}, nil)
		c := dial(t, s)
		c.send("POST /a HTTP/1.1\r\n" + host + "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
		line, err := c.br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "HTTP/1.1 100 Continue\r\n", line, "the head went on")
		_, _ = c.br.ReadString('\n')
		c.send(tc.body)
		status, body := c.response()
		assert.NotEqual(t, 200, status)
		assert.Equal(t, tc.want, body)
		c.closed()
		assert.Zero(t, s.served.Load())
	}
}

func TestValidChunkedBodiesWithExtensionsAndTrailers(t *testing.T) {
	s := start(t, httpguard.Config{}, nil)
	c := dial(t, s)
	c.send("POST /a HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n" +
		"2;name=value;q=\"a \\\"b\\\"\"\r\n{}\r\n0;last\r\nHost: y\r\nX-Checksum: abc\r\n\r\n" +
		"GET /b HTTP/1.1\r\n" + host + "\r\n")
	status, body := c.response()
	assert.Equal(t, 200, status)
	assert.Equal(t, "POST /a {}", body)
	_, body = c.response()
	assert.Equal(t, "GET /b ", body)
}

func TestHeadTimeoutIs408(t *testing.T) {
	s := start(t, httpguard.Config{}, func(fs *fasthttp.Server) { fs.ReadTimeout = 200 * time.Millisecond })
	c := dial(t, s)
	c.send("GET /a HTTP/1.1\r\n" + host + "X-Slow: ")
	status, body := c.response()
	assert.Equal(t, 408, status)
	assert.Contains(t, body, `"codeName":"REQUEST_TIMEOUT"`)
	c.closed()
}

func TestMaxConnsAnswers503AndCloses(t *testing.T) {
	var answered atomic.Int32
	s := start(t, httpguard.Config{MaxConns: 2, Body: func(dst []byte, r httpguard.Rejection) []byte {
		answered.Add(1)
		return append(dst, `{"refused":"`+r.Code+`"}`...)
	}}, nil)
	first, second := dial(t, s), dial(t, s)
	for _, c := range []*client{first, second} { // both are accepted and open
		c.send("GET /a HTTP/1.1\r\n" + host + "\r\n")
		status, _ := c.response()
		require.Equal(t, 200, status)
	}
	third := dial(t, s)
	status, body := third.response()
	assert.Equal(t, 503, status)
	assert.Equal(t, `{"refused":"SERVICE_UNAVAILABLE"}`, body)
	third.closed()
	assert.EqualValues(t, 1, answered.Load())

	require.NoError(t, first.c.Close())
	require.Eventually(t, func() bool { return s.ln.OpenConns() == 1 }, 10*time.Second, time.Millisecond)
	fourth := dial(t, s)
	fourth.send("GET /d HTTP/1.1\r\n" + host + "\r\n")
	status, _ = fourth.response()
	assert.Equal(t, 200, status)
}

// The guarded connection still offers what the server uses: the raw socket (for the
// disconnect watcher) and CloseWrite (for the lingering close).
func TestConnKeepsSyscallConnAndCloseWrite(t *testing.T) {
	s := start(t, httpguard.Config{}, nil)
	c := dial(t, s)
	c.send("GET /a HTTP/1.1\r\n" + host + "\r\n")
	_, _ = c.response()
	conn := <-s.conns
	sc, ok := conn.(syscall.Conn)
	require.True(t, ok)
	raw, err := sc.SyscallConn()
	require.NoError(t, err)
	var fd uintptr
	require.NoError(t, raw.Control(func(f uintptr) { fd = f }))
	assert.NotZero(t, fd)
	cw, ok := conn.(interface{ CloseWrite() error })
	require.True(t, ok)
	require.NoError(t, cw.CloseWrite())
	_, err = c.br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the server's side is shut for writing")
}

// With ReduceMemoryUsage fasthttp reads the first byte of each request alone, then
// through a buffer it releases between requests: the guard serves both kinds of read.
func TestReduceMemoryUsage(t *testing.T) {
	s := start(t, httpguard.Config{}, func(fs *fasthttp.Server) { fs.ReduceMemoryUsage = true })
	c := dial(t, s)
	c.send("GET /a HTTP/1.1\r\n" + host + "\r\nPOST /b HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n" +
		"2;x=y\r\n{}\r\n0\r\nX-T: 1\r\n\r\nGET /c HTTP/1.1\r\nHo")
	_, body := c.response()
	assert.Equal(t, "GET /a ", body)
	_, body = c.response()
	assert.Equal(t, "POST /b {}", body)
	c.send("st: x\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n")
	_, body = c.response()
	assert.Equal(t, "GET /c ", body)
	status, body := c.response()
	assert.Equal(t, 400, status)
	assert.Contains(t, body, "Invalid header field name")
	c.closed()
}

// On a connection that has served a request, a head arriving in pieces is bounded by
// ReadTimeout from its first bytes, not by the (here very long) idle timeout fasthttp
// arms while it waits for a request.
func TestReadTimeoutBoundsAHeadAfterTheFirstRequest(t *testing.T) {
	s := start(t, httpguard.Config{ReadTimeout: 200 * time.Millisecond}, func(fs *fasthttp.Server) {
		fs.ReadTimeout, fs.IdleTimeout = 200*time.Millisecond, time.Hour
	})
	c := dial(t, s)
	c.send("GET /a HTTP/1.1\r\n" + host + "\r\n")
	status, _ := c.response()
	require.Equal(t, 200, status)
	c.send("GET /b HTTP/1.1\r\n" + host + "X-Slow: ")
	status, body := c.response()
	assert.Equal(t, 408, status)
	assert.Contains(t, body, `"codeName":"REQUEST_TIMEOUT"`)
	c.closed()
}
