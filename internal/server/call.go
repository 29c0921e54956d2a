package server

import (
	"net"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/route"
)

// Call is one request on its way to a handler, and the handler's answer on its way back.
// Calls are pooled: an Invoker must not keep a Call, or any slice of it, after Invoke
// returns.
type Call struct {
	Kind route.Kind // route.Task or route.Event
	Slot int32      // the handler's slot, as registered
	ID   []byte     // the decoded task or event id
	// Input is the raw JSON of the body's "input" (task) or "payload" (event) member,
	// or nil when the body has none: the handler then receives undefined.
	Input []byte
	// Header is the request's header block and Conn its connection, both valid only
	// until Invoke returns (for ctx.headers and disconnect detection).
	Header *fasthttp.RequestHeader
	Conn   net.Conn

	result    []byte
	hasResult bool
	errCode   envelope.Code
	errMsg    []byte

	idBuf []byte // backing array for ID
	out   []byte // scratch for the response envelope
}

// SetResult records a successful answer whose value is the JSON text raw (copied).
func (c *Call) SetResult(raw []byte) {
	c.result = append(c.result[:0], raw...)
	c.hasResult = true
	c.errCode = envelope.Code{}
}

// SetNoResult records a successful answer without a value: the envelope omits "result".
func (c *Call) SetNoResult() {
	c.result = c.result[:0]
	c.hasResult = false
	c.errCode = envelope.Code{}
}

// SetError records a failed answer (message copied).
func (c *Call) SetError(code envelope.Code, message []byte) {
	c.errCode = code
	c.errMsg = append(c.errMsg[:0], message...)
}

// SetErrorString is SetError for a string message.
func (c *Call) SetErrorString(code envelope.Code, message string) {
	c.errCode = code
	c.errMsg = append(c.errMsg[:0], message...)
}

func (c *Call) reset() {
	c.Kind, c.Slot, c.ID, c.Input, c.Header, c.Conn = route.None, 0, nil, nil, nil, nil
	c.result, c.hasResult = c.result[:0], false
	c.errCode, c.errMsg = envelope.Code{}, c.errMsg[:0]
	c.out = c.out[:0]
}

// maxPooledBuf keeps one huge answer from pinning its buffers in the pool forever.
const maxPooledBuf = 64 << 10

var callPool = sync.Pool{New: func() any { return new(Call) }}

func acquireCall() *Call { return callPool.Get().(*Call) }

func releaseCall(c *Call) {
	if cap(c.result) > maxPooledBuf || cap(c.out) > maxPooledBuf || cap(c.errMsg) > maxPooledBuf {
		return
	}
	c.reset()
	callPool.Put(c)
}
