// Package protocol holds every decision of the two wire protocols that is not routing:
// the status, code and message of each failure, and the shape of the envelopes.
//
//	seed:   {"ok":false,"error":{"code":<status>,"message":"...","codeName":"<CODE>"}}
//	runner: {"ok":false,"error":{"message":"...","code":"<CODE>"}}  (@bluelibs/runner 5.5.0)
//
// Both answer {"ok":true} and {"ok":true,"result":<raw>}. Every function appends to a
// caller-owned buffer, so the hot path allocates nothing.
package protocol

import (
	"strconv"

	"github.com/bluelibs/runner-native/internal/envelope"
)

// Failure is something the server refuses or fails by itself, before or around a handler.
type Failure uint8

// The failures. Their status, code and message per protocol are in the table below.
const (
	RouteNotFound      Failure = iota // path outside the base path or unknown under it
	TaskNotFound                      // {arg}: id; registered as missing, or unknown in open exposure
	EventNotFound                     // {arg}: id
	TaskNotExposed                    // {arg}: id; unknown in list exposure
	EventNotExposed                   // {arg}: id
	ExposureDisabled                  // closed exposure
	MethodNotAllowed                  // wrong method for the route
	Unauthorized                      // token missing or wrong, validator refused
	AuthNotConfigured                 // runner: no token, no validator, no allowAnonymous
	InvalidJSON                       // {arg}: what is wrong (seed shows it)
	InvalidID                         // {arg}: what is wrong with the id's encoding
	PayloadTooLarge                   // {arg}: the limit in bytes
	HeadersTooLarge                   // {arg}: the limit in bytes
	RequestTimeout                    // the request did not arrive within readTimeoutMs
	RequestDeadline                   // the whole request did not arrive within requestTimeoutMs
	TooManyConnections                // {arg}: maxConnections (the guard's 503)
	MalformedRequest                  // HTTP fasthttp could not parse
	InternalPanic                     // a Go panic was recovered
	Overloaded                        // {arg}: maxInFlight
	ShuttingDown                      // the JavaScript environment is going away
	ClosedBeforeAnswer                // close() reached its deadline
	HandlerTimeout                    // {arg}: taskTimeoutMs
	ClientGone                        // the client disconnected (the answer is never read)
	UnencodableResult                 // {arg}: why; the handler's value could not be encoded
	handlerFailed                     // seed's default message for a handler error without one
)

// seedTable and runnerTable give each Failure its answer. Runner's wording comes from
// its sources (src/node/exposure/*@5.5.0); where runner has no such failure, the
// runner table keeps the seed's code and status with runner's message style.
var seedTable = [...]Answer{
	RouteNotFound:      {404, "NOT_FOUND", "Route not found"},
	TaskNotFound:       {404, "NOT_FOUND", "Task not found: {}"},
	EventNotFound:      {404, "NOT_FOUND", "Event not found: {}"},
	TaskNotExposed:     {403, "FORBIDDEN", "Task {} not exposed"},
	EventNotExposed:    {403, "FORBIDDEN", "Event {} not exposed"},
	ExposureDisabled:   {403, "FORBIDDEN", "Exposure not enabled"},
	MethodNotAllowed:   {405, "METHOD_NOT_ALLOWED", "Method not allowed: use {}"},
	Unauthorized:       {401, "UNAUTHORIZED", "Missing or invalid {} header"},
	AuthNotConfigured:  {500, "AUTH_NOT_CONFIGURED", "Authentication not configured."},
	InvalidJSON:        {400, "INVALID_JSON", "Invalid JSON body: {}"},
	InvalidID:          {400, "BAD_REQUEST", "Invalid id: {}"},
	PayloadTooLarge:    {413, "PAYLOAD_TOO_LARGE", "Request body exceeds maxBodySize ({} bytes)"},
	HeadersTooLarge:    {431, "HEADERS_TOO_LARGE", "Request headers exceed maxHeaderSize ({} bytes)"},
	RequestTimeout:     {408, "REQUEST_TIMEOUT", "Request not received within readTimeoutMs"},
	RequestDeadline:    {408, "REQUEST_TIMEOUT", "Request not received within requestTimeoutMs"},
	TooManyConnections: {503, "SERVICE_UNAVAILABLE", "Too many connections (maxConnections={})"},
	MalformedRequest:   {400, "BAD_REQUEST", "Malformed HTTP request"},
	InternalPanic:      {500, "INTERNAL_ERROR", "Internal server error"},
	Overloaded:         {503, "SERVICE_UNAVAILABLE", "Too many requests waiting for a handler (maxInFlight={}); retry later"},
	ShuttingDown:       {503, "SERVICE_UNAVAILABLE", "Server is shutting down"},
	ClosedBeforeAnswer: {503, "SERVICE_UNAVAILABLE", "Server closed before the handler settled (closeTimeoutMs)"},
	HandlerTimeout:     {504, "TIMEOUT", "Handler did not settle within taskTimeoutMs ({} ms)"},
	ClientGone:         {499, "REQUEST_ABORTED", "Client Closed Request"},
	UnencodableResult:  {500, "INTERNAL_ERROR", "{}"},
	handlerFailed:      {500, "INTERNAL_ERROR", "Task execution failed"},
}

var runnerTable = [...]Answer{
	RouteNotFound:      {404, "NOT_FOUND", "Not Found"},
	TaskNotFound:       {404, "NOT_FOUND", "Task {} not found"},
	EventNotFound:      {404, "NOT_FOUND", "Event {} not found"},
	TaskNotExposed:     {403, "FORBIDDEN", "Task {} not exposed"},
	EventNotExposed:    {403, "FORBIDDEN", "Event {} not exposed"},
	ExposureDisabled:   {403, "FORBIDDEN", "Exposure not enabled"},
	MethodNotAllowed:   {405, "METHOD_NOT_ALLOWED", "Method Not Allowed"},
	Unauthorized:       {401, "UNAUTHORIZED", "Unauthorized"},
	AuthNotConfigured:  {500, "AUTH_NOT_CONFIGURED", "Authentication not configured."},
	InvalidJSON:        {400, "INVALID_JSON", "Invalid JSON body"},
	InvalidID:          {404, "NOT_FOUND", "Not Found"}, // runner's router: a bad escape is no route
	PayloadTooLarge:    {413, "PAYLOAD_TOO_LARGE", "Payload too large"},
	HeadersTooLarge:    {431, "HEADERS_TOO_LARGE", "Request Header Fields Too Large"},
	RequestTimeout:     {408, "REQUEST_TIMEOUT", "Request Timeout"},
	RequestDeadline:    {408, "REQUEST_TIMEOUT", "Request Timeout"},
	TooManyConnections: {503, "SERVICE_UNAVAILABLE", "Service Unavailable"},
	MalformedRequest:   {400, "BAD_REQUEST", "Bad Request"},
	InternalPanic:      {500, "INTERNAL_ERROR", "Internal Error"},
	Overloaded:         {503, "SERVICE_UNAVAILABLE", "Service Unavailable"},
	ShuttingDown:       {503, "SERVICE_UNAVAILABLE", "Service Unavailable"},
	ClosedBeforeAnswer: {503, "SERVICE_UNAVAILABLE", "Service Unavailable"},
	HandlerTimeout:     {504, "TIMEOUT", "Gateway Timeout"},
	ClientGone:         {499, "REQUEST_ABORTED", "Client Closed Request"},
	UnencodableResult:  {500, "INTERNAL_ERROR", "Internal Error"},
	handlerFailed:      {500, "INTERNAL_ERROR", "Internal Error"},
}

// Dialect renders one protocol's envelopes. The zero Dialect is the seed protocol.
type Dialect struct {
	runner bool
	table  *[len(seedTable)]Answer
}

// For returns the dialect of runner's protocol (runner true) or the seed's.
func For(runner bool) Dialect {
	if runner {
		return Dialect{runner: true, table: &runnerTable}
	}
	return Dialect{table: &seedTable}
}

// Runner reports whether this is the runner protocol.
func (d Dialect) Runner() bool { return d.runner }

// Status returns the HTTP status of f.
func (d Dialect) Status(f Failure) int { return d.table[f].Status }

// Code returns the code name of f.
func (d Dialect) Code(f Failure) string { return d.table[f].Code }

// AppendMessage appends f's message with arg in place of "{}".
func (d Dialect) AppendMessage(dst []byte, f Failure, arg []byte) []byte {
	msg := d.table[f].Message
	for i := 0; i+1 < len(msg); i++ {
		if msg[i] == '{' && msg[i+1] == '}' {
			dst = append(dst, msg[:i]...)
			dst = append(dst, arg...)
			return append(dst, msg[i+2:]...)
		}
	}
	return append(dst, msg...)
}

// AppendFailure appends the error envelope of f, whose message (built with
// AppendMessage) is msg, and returns the status to answer with.
func (d Dialect) AppendFailure(dst []byte, f Failure, msg []byte) ([]byte, int) {
	t := &d.table[f]
	return appendError(d, dst, t.Status, t.Code, msg, nil), t.Status
}

// AppendAnswer appends the error envelope of a, with msg for its message when msg is
// not nil (a message built with AppendMessage), and returns the status.
func (d Dialect) AppendAnswer(dst []byte, a *Answer, msg []byte) ([]byte, int) {
	if msg == nil {
		return appendError(d, dst, a.Status, a.Code, a.Message, nil), a.Status
	}
	return appendError(d, dst, a.Status, a.Code, msg, nil), a.Status
}

// HandlerError is an error answered by a handler (see wire.SplitError): nil parts are
// absent.
type HandlerError struct {
	Status        int // 0: 500
	Code, Message []byte
	ID, Data      []byte // Data is raw encoded JSON
	HTTPCode      int    // 0: absent
	DataUndefined bool   // Data is the encoding of undefined
}

// AppendHandlerError appends the envelope of a handler's error and returns the status.
//
// Seed: the message is the handler's (or "Task execution failed" when empty), codeName
// its code or INTERNAL_ERROR; id, data and httpCode follow when given.
//
// Runner, as its handleRequestError + sanitizeErrorResponse do: at status 500 only a
// typed error (one with an id) keeps its message, others say "Internal Error"; id, data
// (unless undefined) and httpCode follow. Below or above 500, every given field is kept.
func (d Dialect) AppendHandlerError(dst []byte, e *HandlerError) ([]byte, int) {
	status := e.Status
	if status < 100 || status > 599 {
		status = 500
	}
	msg := e.Message
	if d.runner {
		if status == 500 && e.ID == nil {
			msg = []byte(runnerTable[handlerFailed].Message)
		}
	} else if len(msg) == 0 {
		msg = []byte(seedTable[handlerFailed].Message)
	}
	if len(e.Code) > 0 {
		return appendError(d, dst, status, e.Code, msg, e), status
	}
	return appendError(d, dst, status, seedTable[handlerFailed].Code, msg, e), status
}

func appendError[C, M ~string | ~[]byte](d Dialect, dst []byte, status int, code C, msg M, e *HandlerError) []byte {
	dst = append(dst, `{"ok":false,"error":{`...)
	if d.runner {
		dst = append(dst, `"message":`...)
		dst = envelope.AppendString(dst, msg)
		dst = append(dst, `,"code":`...)
		dst = envelope.AppendString(dst, code)
	} else {
		dst = append(dst, `"code":`...)
		dst = strconv.AppendInt(dst, int64(status), 10)
		dst = append(dst, `,"message":`...)
		dst = envelope.AppendString(dst, msg)
		dst = append(dst, `,"codeName":`...)
		dst = envelope.AppendString(dst, code)
	}
	if e != nil {
		if e.ID != nil {
			dst = append(dst, `,"id":`...)
			dst = envelope.AppendString(dst, e.ID)
		}
		if e.Data != nil && !(e.DataUndefined && status == 500) {
			dst = append(dst, `,"data":`...)
			dst = append(dst, e.Data...)
		}
		if e.HTTPCode >= 100 && e.HTTPCode <= 599 {
			dst = append(dst, `,"httpCode":`...)
			dst = strconv.AppendInt(dst, int64(e.HTTPCode), 10)
		}
	}
	return append(dst, `}}`...)
}

// AppendOK appends {"ok":true}.
func AppendOK(dst []byte) []byte { return envelope.AppendOK(dst) }

// AppendResult appends {"ok":true,"result":raw}.
func AppendResult(dst, raw []byte) []byte { return envelope.AppendResult(dst, raw) }
