package server

import (
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Keep-alive announcement. Node's server answers every HTTP/1.1 request it keeps the
// connection open for with `Connection: keep-alive` and `Keep-Alive: timeout=<seconds>`
// (its keepAliveTimeout), and clients such as undici use the hint to stop reusing a
// connection before the server closes it, instead of racing the close and failing a
// request with a reset. fasthttp announces neither for HTTP/1.1, so the server does.

// keepAlive is what one server announces: the Keep-Alive value for its idle timeout,
// and whether it is closing (no announcement then: fasthttp answers Connection: close).
type keepAlive struct {
	value   []byte // "timeout=N", nil when connections are never kept idle
	closing atomic.Bool
}

var (
	headerKeepAlive  = []byte("Keep-Alive")
	headerConnection = []byte("Connection")
	valueKeepAlive   = []byte("keep-alive")
)

// newKeepAlive returns the announcement for an idle timeout of idleMs (whole seconds,
// as Node writes it; at least 1).
func newKeepAlive(idleMs int) *keepAlive {
	k := &keepAlive{}
	if idleMs > 0 {
		k.value = []byte("timeout=" + strconv.Itoa(max(1, idleMs/1000)))
	}
	return k
}

// announce adds the two headers to a response whose connection stays open: an HTTP/1.1
// request that did not ask to close, an answer that does not close, a server that is
// not closing. Once close() has begun, every answer closes its connection instead
// (`Connection: close`, as Node's server answers after server.close()), decided here
// rather than by fasthttp, whose shutdown starts later on another goroutine.
func (k *keepAlive) announce(ctx *fasthttp.RequestCtx) {
	if k.closing.Load() {
		ctx.SetConnectionClose()
		return
	}
	if k.value == nil || !ctx.Request.Header.IsHTTP11() ||
		ctx.Request.Header.ConnectionClose() || ctx.Response.ConnectionClose() {
		return
	}
	ctx.Response.Header.SetBytesKV(headerConnection, valueKeepAlive)
	ctx.Response.Header.SetBytesKV(headerKeepAlive, k.value)
}

// BeginClose marks the server as closing, at once, on the caller's thread (close() on the
// JavaScript thread): answers written from now on close their connection, even those of
// calls already running, whatever the order in which the shutdown goroutine proceeds.
func (s *Server) BeginClose() { s.keepAlive.closing.Store(true) }
