package httpguard

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The request of the project's headline benchmark (a small task call from wrk).
const benchRequest = "POST /__runner/task/app.tasks.add HTTP/1.1\r\nHost: 127.0.0.1:7070\r\n" +
	"Content-Type: application/json\r\nContent-Length: 23\r\n\r\n{\"input\":{\"a\":5,\"b\":3}}"

// A browser-like head: more and longer fields.
const benchBrowser = "POST /__runner/task/app.tasks.add?trace=1 HTTP/1.1\r\nHost: api.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: application/json, text/plain, */*\r\nAccept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\nContent-Type: application/json\r\n" +
	"Origin: https://app.example.com\r\nConnection: keep-alive\r\nReferer: https://app.example.com/\r\n" +
	"x-runner-token: 0123456789abcdef0123456789abcdef\r\nContent-Length: 23\r\n\r\n{\"input\":{\"a\":5,\"b\":3}}"

// loopConn hands out its request forever, one copy per Read (or as much as fits), and
// discards writes.
type loopConn struct {
	net.Conn
	req []byte
	at  int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.req[c.at:])
	c.at = (c.at + n) % len(c.req)
	return n, nil
}
func (c *loopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *loopConn) Close() error                     { return nil }
func (c *loopConn) SetReadDeadline(time.Time) error  { return nil }
func (c *loopConn) SetWriteDeadline(time.Time) error { return nil }
func (c *loopConn) SetDeadline(time.Time) error      { return nil }
func (c *loopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *loopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// BenchmarkRead measures what the guard adds to reading one request: "plain" is the
// Read of the bare connection, "guarded" the same through the guard.
func BenchmarkRead(b *testing.B) {
	for _, req := range []struct{ name, text string }{{"small", benchRequest}, {"browser", benchBrowser}} {
		b.Run(req.name+"/plain", func(b *testing.B) {
			benchRead(b, &loopConn{req: []byte(req.text)}, len(req.text))
		})
		b.Run(req.name+"/guarded", func(b *testing.B) {
			l := NewListener(nil, Config{})
			c := &Conn{Conn: &loopConn{req: []byte(req.text)}, l: l, s: scanner{max: l.cfg.MaxHeadSize}}
			benchRead(b, c, len(req.text))
		})
	}
}

func benchRead(b *testing.B, c io.Reader, size int) {
	p := make([]byte, 4096)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for got := 0; got < size; {
			n, err := c.Read(p[:size-got])
			if err != nil {
				b.Fatal(err)
			}
			got += n
		}
	}
}

// BenchmarkServe serves requests with fasthttp on one connection, bare and guarded.
func BenchmarkServe(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		name := "plain"
		if guarded {
			name = "guarded"
		}
		b.Run(name, func(b *testing.B) {
			served := 0
			s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
				ctx.SetBodyString(`{"ok":true,"result":8}`)
				if served++; served == b.N {
					ctx.SetConnectionClose()
				}
			}}
			var c net.Conn = &loopConn{req: []byte(benchRequest)}
			if guarded {
				l := NewListener(nil, Config{})
				c = &Conn{Conn: c, l: l, s: scanner{max: l.cfg.MaxHeadSize}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := s.ServeConn(c); err != nil {
				b.Fatal(err)
			}
		})
	}
}
