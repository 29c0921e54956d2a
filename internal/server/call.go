package server

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/multipart"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Op is what a Call asks of its Invoker: a route's kind (task or event: one kind from
// the path to the wire, see route.Kind), or a check. Its values are the wire record
// kinds.
type Op = route.Kind

// The operations.
const (
	OpTask  = route.Task         // run a task handler
	OpEvent = route.Event        // run an event handler
	OpCheck = Op(wire.KindCheck) // decide something about the request (Check says what)
)

// Outcome is how a Call was answered.
type Outcome uint8

// The outcomes.
const (
	Unanswered Outcome = iota
	Result             // the handler's encoded value (Call.Result)
	NoResult           // success without a value
	HandlerErr         // the handler failed (Call.Err)
	Verdict            // a check's answer (Call.Allow, Call.Value)
	Failed             // the server failed the call itself (Call.Failure, Call.FailArg)
	Streaming          // the answer is a stream (Call.Stream, StreamStatus, StreamHeaders)
)

// Call is one request on its way to a handler, and the answer on its way back. Calls are
// pooled: an Invoker must not keep a Call, or any slice of it, after Invoke returns.
type Call struct {
	Op    Op
	Check uint16          // for OpCheck: wire.CheckAuth or wire.CheckOrigin
	Entry *registry.Entry // for tasks and events: the handlers of the id
	Slot  int32           // the chosen handler's slot, set by the Invoker
	ID    []byte          // the decoded task or event id
	// Input is the raw encoded input (task) or payload (event); HasInput false means the
	// handler receives undefined.
	Input    []byte
	HasInput bool
	// Extras are sent along with the call, indexed by wire.Extra* tag; nil is absent.
	Extras [wire.ExtraCount][]byte
	// Header is the request's header block and Conn its connection, both valid only
	// until Invoke returns (for ctx.headers and disconnect detection).
	Header *fasthttp.RequestHeader
	Conn   net.Conn
	// Body, when set, is the request body to stream to the handler (ctx.body) instead of
	// an input. Its reads fail with ErrBodyTooLarge past maxStreamBodySize and with
	// io.ErrUnexpectedEOF when the client cut it short; each is bounded by readTimeoutMs.
	Body io.Reader
	// Parts, when set, is a multipart form read up to its manifest (the Input): its file
	// parts go to the handler as streams. Early are the file parts that came before the
	// manifest, whole (see multipartBody).
	Parts *multipart.Reader
	Early []EarlyPart
	// WriteTimeout bounds each write of a streamed answer.
	WriteTimeout time.Duration

	Outcome Outcome
	Result  []byte
	Err     protocol.HandlerError
	Allow   bool
	Value   []byte
	Failure protocol.Failure
	FailArg []byte
	// A streamed answer: what to send as status and headers (name NUL value NUL
	// pairs, content-type first), and the body, which the server reads until io.EOF (an
	// error means the stream failed: the response must be cut) and then closes.
	StreamStatus  int
	StreamHeaders []byte
	Stream        io.ReadCloser

	stream  bodyReader // what Body points to
	errBufs [4][]byte  // backing arrays of Err's parts
	idBuf   []byte     // backing array for ID
	scratch []byte     // normalised path (runner routing)
	body    []byte     // the request body read from a stream (grows as it arrives)
	// bodyTaken: the request's body was handed to a reader (read whole or streamed);
	// else it is unread when the request is done (see unreadBody).
	bodyTaken bool
	hdr       []byte   // a repeated header's values joined (runner, see nodeHeader)
	msg       []byte   // scratch for messages
	out       []byte   // scratch for the response envelope
	rid       [36]byte // a generated request id
}

// EarlyPart is a file part that came before its form's manifest, read whole.
type EarlyPart struct {
	Part multipart.Part
	Data []byte
}

// SetResult records a successful answer whose value is raw (copied).
func (c *Call) SetResult(raw []byte) {
	c.Result = append(c.Result[:0], raw...)
	c.Outcome = Result
}

// SetNoResult records a successful answer without a value.
func (c *Call) SetNoResult() { c.Outcome = NoResult }

// SetHandlerError records a handler's failure; every part is copied.
func (c *Call) SetHandlerError(status int, code, message, id, data []byte, httpCode int, dataUndefined bool) {
	c.Err = protocol.HandlerError{Status: status, HTTPCode: httpCode, DataUndefined: dataUndefined}
	c.Err.Code = c.keep(0, code)
	c.Err.Message = c.keep(1, message)
	if c.Err.Message == nil {
		c.Err.Message = c.errBufs[1][:0]
	}
	c.Err.ID = c.keep(2, id)
	c.Err.Data = c.keep(3, data)
	c.Outcome = HandlerErr
}

func (c *Call) keep(i int, b []byte) []byte {
	if b == nil {
		return nil
	}
	c.errBufs[i] = append(c.errBufs[i][:0], b...)
	return c.errBufs[i]
}

// SetVerdict records a check's answer; value is copied.
func (c *Call) SetVerdict(allow bool, value []byte) {
	c.Allow = allow
	c.Value = append(c.Value[:0], value...)
	c.Outcome = Verdict
}

// SetStream records a streamed answer; headers is copied.
func (c *Call) SetStream(status int, headers []byte, stream io.ReadCloser) {
	c.StreamStatus = status
	c.StreamHeaders = append(c.StreamHeaders[:0], headers...)
	c.Stream = stream
	c.Outcome = Streaming
}

// duplexStream is an answer stream that may still be reading the call's request body
// (full duplex: an echo, a transform of the upload).
type duplexStream interface{ Duplex() bool }

// Duplex reports whether the call's answer is a stream that reads the rest of its
// request body beside it: the body and the call (which holds the body's reader) are
// the stream's until fasthttp closes it, and the connection closes after the answer
// (the body's end is not known when the answer's head is written).
func (c *Call) Duplex() bool {
	d, ok := c.Stream.(duplexStream)
	return ok && c.Outcome == Streaming && d.Duplex()
}

// SetBadInput records that JavaScript could not decode the call's input (why says
// why): answered as the protocol answers a body it cannot parse, 400 INVALID_JSON, or,
// for a multipart form, as runner answers a manifest that does not parse.
func (c *Call) SetBadInput(why []byte) {
	if c.Parts != nil {
		f := multipart.ErrInvalidManifest
		c.SetHandlerError(f.Status, []byte(f.Code), []byte(f.Message), nil, nil, 0, false)
		return
	}
	c.Fail(protocol.InvalidJSON, string(why))
}

// Fail records that the server failed the call itself (timeout, overload, shutdown...).
func (c *Call) Fail(f protocol.Failure, arg string) {
	c.Failure = f
	c.FailArg = append(c.FailArg[:0], arg...)
	c.Outcome = Failed
}

func (c *Call) reset() {
	c.Op, c.Check, c.Entry, c.Slot, c.ID = 0, 0, nil, 0, nil
	c.Input, c.HasInput = nil, false
	c.Extras = [wire.ExtraCount][]byte{}
	c.Header, c.Conn = nil, nil
	c.Body, c.Parts, c.Early, c.WriteTimeout = nil, nil, nil, 0
	c.stream = bodyReader{}
	c.StreamStatus, c.StreamHeaders, c.Stream = 0, c.StreamHeaders[:0], nil
	c.Outcome, c.Result, c.Allow, c.Value = Unanswered, c.Result[:0], false, c.Value[:0]
	c.Err = protocol.HandlerError{}
	c.Failure, c.FailArg = 0, c.FailArg[:0]
	c.msg, c.out, c.body, c.bodyTaken = c.msg[:0], c.out[:0], c.body[:0], false
}

// maxPooledBuf keeps one huge answer from pinning its buffers in the pool forever.
const maxPooledBuf = 64 << 10

var callPool = sync.Pool{New: func() any { return new(Call) }}

func acquireCall() *Call { return callPool.Get().(*Call) }

func releaseCall(c *Call) {
	if c.Duplex() {
		return // its body is still read beside its answer: the garbage collector frees it
	}
	if cap(c.Result) > maxPooledBuf || cap(c.out) > maxPooledBuf || cap(c.errBufs[3]) > maxPooledBuf || cap(c.body) > maxPooledBuf {
		return
	}
	c.reset()
	callPool.Put(c)
}
