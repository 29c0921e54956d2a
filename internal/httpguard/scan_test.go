package httpguard

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/protocol"
)

const host = "Host: x\r\n"

// scanCases: what the guard hands on for an input (out), and the refusal that follows
// (rej, nil if none). Each runs whole, cut into 1-byte and 5-byte pieces, and read
// through a 7-byte buffer.
var scanCases = []struct {
	name, in, out string
	rej           *Rejection
}{
	{"plain GET", "GET / HTTP/1.1\r\n" + host + "\r\n", "GET / HTTP/1.1\r\n" + host + "\r\n", nil},
	{"runs of spaces become one", "GET  /a   HTTP/1.1\r\n" + host + "\r\n", "GET /a HTTP/1.1\r\n" + host + "\r\n", nil},
	{"empty lines before a request are dropped", "\r\n\n\rGET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", nil},
	{"pipelined requests", "GET /a HTTP/1.1\r\n" + host + "\r\nPOST /b HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\n" + host + "\r\n",
		"GET /a HTTP/1.1\r\n" + host + "\r\nPOST /b HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\n" + host + "\r\n", nil},
	{"absolute-form", "GET http://a.example:80/p?q#f HTTP/1.1\r\n" + host + "\r\n", "GET http://a.example:80/p?q#f HTTP/1.1\r\n" + host + "\r\n", nil},
	{"asterisk-form", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", nil},

	// request line
	{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", "", protocol.GuardVersionUnsupported},
	{"HTTP/0.9 line", "GET /\r\n\r\n", "", protocol.GuardNoVersion},
	{"HTTP/1.10", "GET / HTTP/1.10\r\n" + host + "\r\n", "", protocol.GuardVersion},
	{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", "", protocol.GuardVersion},
	{"space after version", "GET / HTTP/1.1 \r\n" + host + "\r\n", "", protocol.GuardVersion},
	{"unknown method", "BREW / HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardMethod},
	{"lower-case method", "get / HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardMethod},
	{"CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", "", protocol.GuardConnect},
	{"tab after method", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardRequestLine},
	{"no method", " / HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardRequestLine},
	{"non-ASCII target", "GET /\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardTarget},
	{"DEL in target", "GET /\x7f HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardTarget},
	{"relative target", "GET a HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardTarget},
	{"authority target for GET", "GET a.example:80 HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardTarget},
	{"asterisk for GET", "GET * HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardTarget},
	{"@@ in authority", "GET http://a@@b/ HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardTarget},

	// line ends and fields
	{"bare LF after request line", "GET / HTTP/1.1\n" + host + "\r\n", "", protocol.GuardBareLF},
	{"bare LF hides a request", "GET / HTTP/1.1\r\nDummy: x\nContent-Length: 23\r\n" + host + "\r\nGET /smuggled HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardBareLF},
	{"bare CR in a value", "GET / HTTP/1.1\r\nX: a\rb\r\n" + host + "\r\n", "", protocol.GuardFieldValue},
	{"CR CR LF", "GET / HTTP/1.1\r\r\n" + host + "\r\n", "", protocol.GuardVersion},
	{"NUL in a value", "GET / HTTP/1.1\r\nX: a\x00b\r\n" + host + "\r\n", "", protocol.GuardFieldValue},
	{"obs-text in a value", "GET / HTTP/1.1\r\nX: \xff\xfe\r\n" + host + "\r\n", "GET / HTTP/1.1\r\nX: \xff\xfe\r\n" + host + "\r\n", nil},
	{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", "", protocol.GuardObsFold},
	{"space before the first field", "GET / HTTP/1.1\r\n " + host + "\r\n", "", protocol.GuardObsFold},
	{"space in a name", "GET / HTTP/1.1\r\n" + host + "Bad Name: v\r\n\r\n", "", protocol.GuardFieldName},
	{"space before the colon", "GET / HTTP/1.1\r\n" + host + "X : v\r\n\r\n", "", protocol.GuardFieldName},
	{"empty name", "GET / HTTP/1.1\r\n" + host + ": v\r\n\r\n", "", protocol.GuardFieldName},
	{"no colon", "GET / HTTP/1.1\r\n" + host + "X\r\n\r\n", "", protocol.GuardFieldName},

	// Host
	{"no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", "", protocol.GuardNoHost},
	{"no Host in HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n", nil},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", "", protocol.GuardDupHost},
	{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", "", protocol.GuardHost},
	{"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "", protocol.GuardHost},
	{"Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "", protocol.GuardHost},
	{"IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", nil},
	{"IPv6 Host with a zone", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", "GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n", nil},
	{"Host with an empty port", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", nil},
	{"Host with a bad port", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", "", protocol.GuardHost},
	{"Host with only a port", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", "", protocol.GuardHost},

	// framing
	{"Content-Length and chunked", "POST / HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", protocol.GuardLengthAndTE},
	{"chunked and Content-Length", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", "", protocol.GuardLengthAndTE},
	{"identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", "", protocol.GuardChunkedNotLast},
	{"chunked, then gzip", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", "", protocol.GuardChunkedNotLast},
	{"chunked twice", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", "", protocol.GuardChunkedNotLast},
	{"gzip, then chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "", protocol.GuardCoding},
	{"chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", protocol.GuardTE10},
	{"two Content-Lengths", "POST / HTTP/1.1\r\n" + host + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "", protocol.GuardDupLength},
	{"Content-Length list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 2, 2\r\n\r\n{}", "", protocol.GuardLength},
	{"Content-Length +2", "POST / HTTP/1.1\r\n" + host + "Content-Length: +2\r\n\r\n{}", "", protocol.GuardLength},
	{"Content-Length tab after", "POST / HTTP/1.1\r\n" + host + "Content-Length: 2\t\r\n\r\n{}", "", protocol.GuardLength},
	{"Content-Length beyond int64", "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775808\r\n\r\n", "", protocol.GuardLength},
	{"Content-Length 002 and spaces", "POST / HTTP/1.1\r\n" + host + "Content-Length:\t002  \r\n\r\n{}", "POST / HTTP/1.1\r\n" + host + "Content-Length:\t002  \r\n\r\n{}", nil},
	{"chunked, plain form", "POST / HTTP/1.1\r\n" + host + "transfer-encoding: ,  ChUnKeD \r\n\r\n2\r\n{}\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\n" + host + "Transfer-Encoding:chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", nil},
	{"extensions, zeros and trailers are dropped", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n002;a=b;c=\"d \\\" e\";f\r\n{}\r\nA;x\r\n0123456789\r\n000;z=\"\"\r\nX-T: 1\r\nHost: y\r\n\r\n",
		"POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\na\r\n0123456789\r\n0\r\n\r\n", nil},
	{"space before an extension", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2 ;a\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkSize},
	{"space in an extension", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2;a=b c\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkExt},
	{"; before CRLF", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2;\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkExt},
	{"unclosed quote", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2;a=\"b\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkExt},
	{"0x in a chunk size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkSize},
	{"empty chunk size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n\r\n", "", protocol.GuardChunkSize},
	{"chunk size overflow", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", "", protocol.GuardChunkSize},
	{"chunk longer than said", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkData},
	{"bare LF after chunk size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n", "", protocol.GuardBareLF},
	{"bare LF after chunk data", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\n0\r\n\r\n", "", protocol.GuardChunkData},
	{"Content-Length in trailers", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n", "", protocol.GuardTrailerFraming},
	{"obs-fold in trailers", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: 1\r\n 2\r\n\r\n", "", protocol.GuardObsFold},

	// expectations, connections
	{"100-continue among others", "POST / HTTP/1.1\r\n" + host + "Expect: foo, 100-Continue\r\nExpect: bar\r\nContent-Length: 2\r\n\r\n{}",
		"POST / HTTP/1.1\r\n" + host + "Expect:100-continue\r\nContent-Length: 2\r\n\r\n{}", nil},
	{"unknown expectation", "POST / HTTP/1.1\r\n" + host + "Expect: foo\r\nContent-Length: 2\r\n\r\n{}", "", protocol.GuardExpect},
	{"HTTP/1.0 ignores expectations", "GET / HTTP/1.0\r\nExpect: foo\r\n\r\n", "GET / HTTP/1.0\r\nExpect: foo\r\n\r\n", nil},
	{"nothing is read after Connection: close", "GET /a HTTP/1.1\r\n" + host + "Connection: keep-alive, Close\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
		"GET /a HTTP/1.1\r\n" + host + "Connection: keep-alive, Close\r\n\r\n", nil},
	{"nothing is read after HTTP/1.0", "GET /a HTTP/1.0\r\n\r\nBREW", "GET /a HTTP/1.0\r\n\r\n", nil},
	{"HTTP/1.0 keep-alive", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n",
		"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n", nil},

	// the requests before a refused one are handed on
	{"refused after a good one", "GET /a HTTP/1.1\r\n" + host + "\r\nGET /b HTTP/9.9\r\n" + host + "\r\n", "GET /a HTTP/1.1\r\n" + host + "\r\n", protocol.GuardVersionUnsupported},

	// limits (MaxHeadSize 256 below)
	{"head too large", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", 300) + "\r\n\r\n", "", protocol.GuardHeadTooLarge},
	{"request line too large", "GET /" + strings.Repeat("a", 300) + " HTTP/1.1\r\n" + host + "\r\n", "", protocol.GuardHeadTooLarge},
	{"too many empty lines", strings.Repeat("\r\n", 200), "", protocol.GuardHeadTooLarge},
	{"trailers too large", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", "", protocol.GuardHeadTooLarge},
	{"chunk extensions too large", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2;a=" + strings.Repeat("b", 300) + "\r\n{}\r\n0\r\n\r\n", "", protocol.GuardChunkLineTooLarge},
}

func TestScanCases(t *testing.T) {
	for _, tc := range scanCases {
		for _, cut := range []struct{ piece, read int }{{0, 4096}, {1, 4096}, {5, 4096}, {0, 7}} {
			r := guardRun(Config{MaxHeadSize: 256}, []byte(tc.in), cut.piece, cut.read, false)
			// A refused request's head may go on before its body shows the fault.
			out := string(r.out)
			if r.mid {
				out = tc.out
			}
			assert.Equal(t, tc.out, out, "%s (pieces of %d)", tc.name, cut.piece)
			assert.Equal(t, tc.rej, r.rej, "%s (pieces of %d)", tc.name, cut.piece)
		}
	}
}

// A refused request is answered by Close when nothing of it was handed on, and never
// twice.
func TestCloseAnswersTheRefusal(t *testing.T) {
	r := guardRun(Config{Header: "X-Extra: 1\r\n"}, []byte("GET / HTTP/2.0\r\n"+host+"\r\n"), 0, 4096, false)
	text := string(r.written)
	assert.True(t, strings.HasPrefix(text, "HTTP/1.1 505 HTTP Version Not Supported\r\n"), text)
	assert.Contains(t, text, "\r\nContent-Type: application/json; charset=utf-8\r\n")
	assert.Contains(t, text, "\r\nConnection: close\r\n")
	assert.Contains(t, text, "\r\nX-Extra: 1\r\n")
	body := `{"ok":false,"error":{"code":505,"message":"Only HTTP/1.0 and HTTP/1.1 are supported","codeName":"HTTP_VERSION_NOT_SUPPORTED"}}`
	assert.True(t, strings.HasSuffix(text, "\r\n\r\n"+body), text)
	assert.Contains(t, text, "\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n")
}

// A timeout while a head is incomplete is answered 408; with nothing begun it is the
// server's to handle.
func TestTimeout(t *testing.T) {
	r := guardRun(Config{}, []byte("GET / HTTP/1.1\r\nHo"), 0, 4096, true)
	assert.Equal(t, protocol.GuardTimeout, r.rej)
	assert.Empty(t, r.out)
	assert.True(t, strings.HasPrefix(string(r.written), "HTTP/1.1 408 Request Timeout\r\n"))

	r = guardRun(Config{}, []byte("GET / HTTP/1.1\r\n"+host+"\r\n"), 0, 4096, true)
	assert.Nil(t, r.rej)
	assert.Equal(t, "GET / HTTP/1.1\r\n"+host+"\r\n", string(r.out))
	assert.ErrorIs(t, r.err, errDeadline)
	assert.Empty(t, r.written)
}

// A connection takes a buffer from the pool only while it holds bytes it cannot hand on
// yet, and gives it back as soon as they are gone: an idle connection holds none.
func TestBufferIsHeldOnlyWhileNeeded(t *testing.T) {
	l := NewListener(nil, Config{})
	cc := &chunkConn{chunks: [][]byte{
		[]byte("GET /a HTTP/1.1\r\n" + host + "\r\n"),
		[]byte("GET /b HTTP/1.1\r\n" + host + "\r\nGET /c HTTP/1.1\r\nHo"),
		[]byte("st: x\r\n\r\n"),
	}}
	c := &Conn{Conn: cc, l: l, s: scanner{max: l.cfg.MaxHeadSize}}
	p := make([]byte, 4096)

	n, err := c.Read(p)
	assert.NoError(t, err)
	assert.Equal(t, "GET /a HTTP/1.1\r\n"+host+"\r\n", string(p[:n]))
	assert.Nil(t, c.buf, "nothing is held between requests")

	n, _ = c.Read(p)
	assert.Equal(t, "GET /b HTTP/1.1\r\n"+host+"\r\n", string(p[:n]))
	assert.NotNil(t, c.buf, "the start of /c waits in the stash")

	n, _ = c.Read(p)
	assert.Equal(t, "GET /c HTTP/1.1\r\n"+host+"\r\n", string(p[:n]))
	assert.Nil(t, c.buf, "the stash went back to the pool once empty")
}

// Inside a chunked body fasthttp is reading, a refusal where its next chunk-size line
// would start must still reach its error handler: io.EOF there would look like a client
// that left, and fasthttp would close without an answer. (Through ServeConn, so the
// reads arrive in this order: the head and a chunk first, the bad line later.)
func TestRefusalAtALineStartReachesTheErrorHandler(t *testing.T) {
	l := NewListener(nil, Config{})
	cc := &chunkConn{chunks: [][]byte{
		[]byte("POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"),
		[]byte("zz\r\n"),
	}}
	c := &Conn{Conn: cc, l: l, s: scanner{max: l.cfg.MaxHeadSize}}
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) { t.Error("the refused request was served") },
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			r, ok := RejectionOf(ctx.Conn())
			assert.True(t, ok, "the guard's refusal is handed over")
			ctx.SetStatusCode(r.Status)
			ctx.SetBodyString(r.Message)
		},
	}
	_ = s.ServeConn(c)
	text := string(cc.written)
	assert.True(t, strings.HasPrefix(text, "HTTP/1.1 400 Bad Request\r\n"), text)
	assert.True(t, strings.HasSuffix(text, "\r\n\r\nInvalid chunk size"), text)
	assert.Equal(t, 1, strings.Count(text, "HTTP/1.1 "), "one answer")
}
