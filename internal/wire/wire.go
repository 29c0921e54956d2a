// Package wire is the byte format of the bridge between Go and JavaScript, defined once.
//
// Go writes records into a buffer JavaScript owns (calls, checks, aborts, notices) and
// reads the records JavaScript writes back (answers), both through one exchange call
// (see internal/bridge). JavaScript never hard-codes any number below: it reads them all
// from Constants(), which the addon hands over at load time (lib/wire.js).
//
// Go → JavaScript record (little-endian), CallHeader bytes then the payload:
//
//	u32 id | u8 kind | u8 flags | u16 aux | u32 slot | u32 inputLen | u32 extraLen | u32 0
//	inputLen bytes of input, then extras: (u32 tag | u32 len | len bytes)*, extraLen bytes in all
//
// JavaScript → Go record (AnswerHeader bytes then the payload):
//
//	u32 id | u8 kind | u8 flags | u16 status | u32 len | u32 httpCode
//
// An error answer's payload is its fields, each u32 len then the bytes, in this order:
// code (if FlagHasCode), message (always), id (if FlagHasID), data (if FlagHasData).
package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	"github.com/bluelibs/runner-native/internal/latency"
	"github.com/bluelibs/runner-native/internal/protocol"
)

// Record sizes.
const (
	CallHeader   = 24
	ExtraHeader  = 8
	AnswerHeader = 16
)

// FieldLen is the size of the length (u32) before each field of an error answer's
// payload and each name and value of a stream's headers.
const FieldLen = 4

// Offsets of the fields of the record headers above (the layouts in the package comment).
const (
	CallAtID       = 0 // u32
	CallAtKind     = 4 // u8
	CallAtFlags    = 5 // u8
	CallAtAux      = 6 // u16
	CallAtSlot     = 8 // u32
	CallAtInputLen = 12
	CallAtExtraLen = 16

	ExtraAtTag = 0 // u32
	ExtraAtLen = 4 // u32

	AnswerAtID       = 0 // u32
	AnswerAtKind     = 4 // u8
	AnswerAtFlags    = 5 // u8
	AnswerAtStatus   = 6 // u16
	AnswerAtLen      = 8 // u32
	AnswerAtHTTPCode = 12
)

// Registration records, batched by JavaScript into rn_register:
//
//	u8 kind (KindTask or KindEvent) | u8 flags | u16 idLen | i32 slot | idLen bytes of id
const (
	RegHeader  = 8
	RegListed  = 1 // shown in discovery
	RegMissing = 2 // known but absent: answered 404
	// Offsets of the fields.
	RegAtKind  = 0 // u8
	RegAtFlags = 1 // u8
	RegAtIDLen = 2 // u16
	RegAtSlot  = 4 // i32
)

// Kinds of Go → JavaScript records.
const (
	KindTask   = 1 // run the task handler in slot with the input
	KindEvent  = 2 // run the event handler in slot with the payload
	KindCheck  = 3 // decide something for a request; aux says what (Check*)
	KindAbort  = 4 // call id stopped waiting for its answer; aux is the reason (Abort*)
	KindNotice = 5 // something happened that JavaScript may log; no answer expected (see below)
	KindCredit = 6 // a response stream may send slot more bytes (Go wrote them to the client)
	KindBody   = 7 // a piece of a request body stream: aux is the stream (see below), input the bytes
)

// Request body streams (KindBody records). A raw body (FlagBodyStream) is stream 0. A
// multipart form (FlagMultipart: the call's input is its manifest) sends each file part
// as stream 1, 2...: the first record of a part has FlagPart and its extras FileID,
// Filename (absent: none), FilenameCharset (absent: Latin-1) and FileType; stream 0
// then only says how the form ended: FlagEnd (read to its end) or FlagFailed (refused:
// slot is the HTTP status, extra Code the code, input the message). A multipart call's
// aux is how many file parts came before the manifest; their records follow the call.
//
// Credit: JavaScript tells Go, per stream, up to which offset (bytes since the stream's
// start, modulo 2^32) it can take bytes (AnswerBodyCredit). A raw body starts with none,
// a file part with BodyChunk bytes, so that small files arrive whether or not the task
// reads them, as they do through busboy's buffers. FlagDiscard on a credit answer: the
// stream's bytes are not wanted any more (its reader went away); on stream 0 of a
// multipart call: the task settled, so Go never waits for credit again: a part gets what
// its credit allows, then fails with code FILE_DISCARDED, and the rest of the form is
// read (and checked) without being sent.

// Flags of call records.
const (
	FlagHasInput   = 1 // the input bytes are present (else the handler gets undefined)
	FlagBodyStream = 2 // the request body arrives as a stream of KindBody records (ctx.body)
	FlagMultipart  = 4 // the input is a multipart form's manifest; its files arrive as streams
)

// Flags of body records.
const (
	FlagEnd    = 1 // the stream ends after these bytes
	FlagFailed = 2 // the stream failed: the input is why, extra code its code
	FlagPart   = 4 // the first record of a file part (multipart): extras describe it
)

// Stream sizes.
const (
	// StreamWindow is how many bytes of a response stream JavaScript may send ahead of
	// the credit Go gives back as it writes them to the client: the memory a slow client
	// can hold per stream.
	StreamWindow = 256 << 10
	// BodyChunk is the largest piece of a request body Go sends in one record.
	BodyChunk = 64 << 10
)

// What a check record asks (its aux).
const (
	CheckAuth   = 1 // run the auth validator: extras requestId (runner), method, url, path; headers via rn_headers
	CheckOrigin = 2 // choose Access-Control-Allow-Origin: extra origin (absent: no Origin header)
)

// Notices (the aux of a notice record). At most one notice record waits per port: its
// id is how many more notices came after it and were coalesced into it, so a flood of
// refused requests is one record per exchange, never a queue.
const (
	NoticeAuthFailure = 1 // extras requestId, method, path, code; status in slot
	// NoticeAccess: records of answered requests, for onRequests (see Access). Not
	// coalesced as the others: its input is a batch of records, slot how many, and its
	// id how many were dropped since the previous batch (the batch was full).
	NoticeAccess = 2
)

// Access records, the input of a NoticeAccess notice, one after the other:
//
//	f64 time (ms since the Unix epoch, when the request was read) | f64 duration (ms)
//	f64 bytesIn | f64 bytesOut | u16 status | u16 remotePort
//	u8 kind (KindTask, KindEvent; 0: answered by the server alone) | u8 0
//	u16 lengths of method, path, id, requestId, remoteAddress | those five strings
//
// Numbers are float64 so JavaScript reads them as they are (exact up to 2^53).
const (
	AccessHeader = 48
	// Offsets of the fields in a record's header.
	AccessAtTime       = 0
	AccessAtDuration   = 8
	AccessAtBytesIn    = 16
	AccessAtBytesOut   = 24
	AccessAtStatus     = 32
	AccessAtRemotePort = 34
	AccessAtKind       = 36
	AccessAtLengths    = 38 // five u16
	// AccessMaxString bounds each string of a record (a longer one is cut): a record is
	// at most AccessHeader + 5*AccessMaxString bytes however long the request's path.
	AccessMaxString = 2048
)

// Access is one answered request, as AppendAccess encodes it.
type Access struct {
	Time              time.Time
	Duration          time.Duration
	BytesIn, BytesOut int64
	Status            int
	Kind              byte
	Method, Path, ID  []byte
	RequestID         []byte
	Remote            netip.AddrPort // the zero value: not a TCP client
}

// AppendAccess appends the record of a to dst, without allocating when dst has room.
func AppendAccess(dst []byte, a *Access) []byte {
	start := len(dst)
	var head [AccessHeader]byte
	dst = append(dst, head[:]...)
	h := dst[start:]
	binary.LittleEndian.PutUint64(h[AccessAtTime:], math.Float64bits(float64(a.Time.UnixMicro())/1e3))
	binary.LittleEndian.PutUint64(h[AccessAtDuration:], math.Float64bits(float64(a.Duration)/float64(time.Millisecond)))
	binary.LittleEndian.PutUint64(h[AccessAtBytesIn:], math.Float64bits(float64(a.BytesIn)))
	binary.LittleEndian.PutUint64(h[AccessAtBytesOut:], math.Float64bits(float64(a.BytesOut)))
	binary.LittleEndian.PutUint16(h[AccessAtStatus:], uint16(a.Status))
	binary.LittleEndian.PutUint16(h[AccessAtRemotePort:], a.Remote.Port())
	h[AccessAtKind] = a.Kind
	for i, str := range [...][]byte{a.Method, a.Path, a.ID, a.RequestID} {
		at := len(dst)
		dst = appendCut(dst, str)
		binary.LittleEndian.PutUint16(dst[start+AccessAtLengths+2*i:], uint16(len(dst)-at))
	}
	at := len(dst)
	if a.Remote.IsValid() {
		dst = a.Remote.Addr().Unmap().AppendTo(dst)
	}
	binary.LittleEndian.PutUint16(dst[start+AccessAtLengths+8:], uint16(len(dst)-at))
	return dst
}

// AccessSize is the size of the record rec starts with (AppendAccess wrote it).
func AccessSize(rec []byte) int {
	n := AccessHeader
	for i := 0; i < 5; i++ {
		n += int(binary.LittleEndian.Uint16(rec[AccessAtLengths+2*i:]))
	}
	return n
}

func appendCut(dst, s []byte) []byte {
	if len(s) > AccessMaxString {
		s = s[:AccessMaxString]
	}
	return append(dst, s...)
}

// Why a call was aborted (the aux of an abort record). Each becomes signal.reason.code.
const (
	AbortTimeout      = 1 // taskTimeoutMs passed
	AbortDisconnect   = 2 // the client went away
	AbortClosing      = 3 // close() reached its deadline
	AbortShuttingDown = 4 // the JavaScript environment is going away
	AbortTooLarge     = 5 // the streamed request body passed maxStreamBodySize (answered 413)
	AbortBadHeader    = 6 // a header of the answer stream is not valid HTTP (answered 500)
)

// Extra tags.
const (
	ExtraRequestID       = 1 // x-runner-request-id of the request (runner protocol)
	ExtraContext         = 2 // the x-runner-context header, raw
	ExtraReturnPayload   = 3 // raw JSON of the event body's returnPayload member
	ExtraOrigin          = 4 // the Origin header
	ExtraMethod          = 5
	ExtraURL             = 6 // the request target as received
	ExtraPath            = 7 // its path, without the query
	ExtraCode            = 8 // an error code name
	ExtraFileID          = 9 // a file part's id: its field name after "file:"
	ExtraFilename        = 10
	ExtraFilenameCharset = 11
	ExtraFileType        = 12 // a file part's content type
	ExtraHeaders         = 13 // an auth check's request headers, a JSON object (see server.AppendHeaderObject)
	ExtraCount           = 14 // one more than the largest tag: the size of a table by tag
)

// Kinds of JavaScript → Go answers.
const (
	AnswerResult   = 1 // payload: the result, encoded
	AnswerNoResult = 2 // no payload; tasks answer {"ok":true}
	AnswerError    = 3 // payload: error fields; status: HTTP status (0: 500)
	AnswerVerdict  = 4 // a check's answer: FlagAllow; origin checks carry the value
	// AnswerBadInput: the input could not be decoded (payload: why). Answered as the
	// protocol answers a body it cannot parse: 400 INVALID_JSON.
	AnswerBadInput = 5
	// AnswerUnencodable: the handler's value could not be encoded (payload: why).
	// Answered 500; the seed protocol shows why, runner's does not.
	AnswerUnencodable = 6
	// AnswerStreamStart: the answer is a stream; status is the HTTP status, the payload
	// its headers as they were set, each name then value as u32 len then the bytes (see
	// NextHeader; the first is content-type). Lengths, not separators: no byte of a name
	// or a value can end it early, whatever the handler put there. The server checks
	// every name and value before it sends anything.
	AnswerStreamStart = 7
	AnswerChunk       = 8  // payload: the next bytes of the stream
	AnswerEnd         = 9  // the stream ended well
	AnswerStreamError = 10 // the stream failed (payload: why): the response is cut
	// AnswerBodyCredit: JavaScript can take httpCode more bytes of request body stream
	// status (0: the body).
	AnswerBodyCredit = 11
)

// Flags of answers.
const (
	FlagHasCode       = 1
	FlagHasID         = 2
	FlagHasData       = 4
	FlagHasHTTPCode   = 8
	FlagDataUndefined = 16 // data is the serializer's encoding of undefined
	FlagAllow         = 1  // verdicts
	FlagDiscard       = 1  // body credit: the stream's bytes are not wanted (see above)
)

// Signals the Go library sends through the addon (cmd/librunner/abi.h defines the same
// numbers for C; cmd/librunner checks at compile time that they agree).
const (
	SignalWake   = 1 // records are queued: call exchange
	SignalClosed = 2 // the server has closed; its last signal
	SignalFailed = 3 // the server's process died (addon/go_process.h); its last signal
)

// Exchange modes (rn_exchange's mode argument).
const (
	ExchangeWake  = 1 // called because of SignalWake: the wake-up is consumed
	ExchangeFlush = 2 // called to hand answers back (a microtask flush)
)

// Stats are the names of the counters rn_stats fills, in order.
var Stats = []string{
	"requests", "status2xx", "status4xx", "status5xx", "panics", "pending", "connections",
	"inFlight", "timeouts", "rejected", "disconnects", "closedByDeadline", "rejectedHTTP",
	"threads", "threadPending", "threadCalls", "streamErrors", "authFailures", "recordsDropped",
}

// After the counters of Stats, rn_stats fills the latency histogram (latency.Histogram):
// the sum of every duration in microseconds, then the count of each bucket, one per
// bound of LATENCY_BOUNDS_MICROS and one past the last.

// AbortReasons maps an abort reason to the code and message JavaScript puts on
// signal.reason (the answers are internal/protocol's).
var AbortReasons = map[int]*protocol.Answer{
	AbortTimeout:      protocol.AbortTimeout,
	AbortDisconnect:   protocol.AbortDisconnect,
	AbortClosing:      protocol.AbortClosing,
	AbortShuttingDown: protocol.AbortShuttingDown,
	AbortTooLarge:     protocol.AbortTooLarge,
	AbortBadHeader:    protocol.AbortBadHeader,
}

// Constants returns every constant above as one JSON object, for JavaScript.
func Constants() []byte {
	reasons := map[string]map[string]string{}
	for k, v := range AbortReasons {
		reasons[strconv.Itoa(k)] = map[string]string{"code": v.Code, "message": v.Message}
	}
	out, err := json.Marshal(map[string]any{
		"CALL_HEADER": CallHeader, "EXTRA_HEADER": ExtraHeader, "ANSWER_HEADER": AnswerHeader, "FIELD_LEN": FieldLen,
		"CALL_AT_ID": CallAtID, "CALL_AT_KIND": CallAtKind, "CALL_AT_FLAGS": CallAtFlags, "CALL_AT_AUX": CallAtAux, "CALL_AT_SLOT": CallAtSlot, "CALL_AT_INPUT_LEN": CallAtInputLen, "CALL_AT_EXTRA_LEN": CallAtExtraLen, "EXTRA_AT_TAG": ExtraAtTag, "EXTRA_AT_LEN": ExtraAtLen, "ANSWER_AT_ID": AnswerAtID, "ANSWER_AT_KIND": AnswerAtKind, "ANSWER_AT_FLAGS": AnswerAtFlags, "ANSWER_AT_STATUS": AnswerAtStatus, "ANSWER_AT_LEN": AnswerAtLen, "ANSWER_AT_HTTP_CODE": AnswerAtHTTPCode,
		"KIND_TASK": KindTask, "KIND_EVENT": KindEvent, "KIND_CHECK": KindCheck,
		"KIND_ABORT": KindAbort, "KIND_NOTICE": KindNotice,
		"FLAG_HAS_INPUT": FlagHasInput, "FLAG_BODY_STREAM": FlagBodyStream,
		"FLAG_END": FlagEnd, "FLAG_FAILED": FlagFailed, "FLAG_PART": FlagPart, "FLAG_MULTIPART": FlagMultipart,
		"FLAG_DISCARD":  FlagDiscard,
		"STREAM_WINDOW": StreamWindow, "BODY_CHUNK": BodyChunk,
		"KIND_CREDIT": KindCredit, "KIND_BODY": KindBody,
		"ANSWER_STREAM_START": AnswerStreamStart, "ANSWER_CHUNK": AnswerChunk, "ANSWER_END": AnswerEnd,
		"ANSWER_STREAM_ERROR": AnswerStreamError, "ANSWER_BODY_CREDIT": AnswerBodyCredit,
		"REG_HEADER": RegHeader, "REG_LISTED": RegListed, "REG_MISSING": RegMissing,
		"REG_AT_KIND": RegAtKind, "REG_AT_FLAGS": RegAtFlags, "REG_AT_ID_LEN": RegAtIDLen, "REG_AT_SLOT": RegAtSlot,
		"CHECK_AUTH": CheckAuth, "CHECK_ORIGIN": CheckOrigin,
		"NOTICE_AUTH_FAILURE": NoticeAuthFailure, "NOTICE_ACCESS": NoticeAccess,
		"ACCESS_HEADER": AccessHeader, "ACCESS_MAX_STRING": AccessMaxString,
		"ACCESS_AT_TIME": AccessAtTime, "ACCESS_AT_DURATION": AccessAtDuration, "ACCESS_AT_BYTES_IN": AccessAtBytesIn,
		"ACCESS_AT_BYTES_OUT": AccessAtBytesOut, "ACCESS_AT_STATUS": AccessAtStatus, "ACCESS_AT_REMOTE_PORT": AccessAtRemotePort,
		"ACCESS_AT_KIND": AccessAtKind, "ACCESS_AT_LENGTHS": AccessAtLengths,
		"LATENCY_BOUNDS_MICROS": latency.Bounds,
		"EXTRA_REQUEST_ID":      ExtraRequestID, "EXTRA_CONTEXT": ExtraContext,
		"EXTRA_RETURN_PAYLOAD": ExtraReturnPayload, "EXTRA_ORIGIN": ExtraOrigin,
		"EXTRA_METHOD": ExtraMethod, "EXTRA_URL": ExtraURL, "EXTRA_PATH": ExtraPath,
		"EXTRA_CODE": ExtraCode, "EXTRA_FILE_ID": ExtraFileID, "EXTRA_FILENAME": ExtraFilename,
		"EXTRA_FILENAME_CHARSET": ExtraFilenameCharset, "EXTRA_FILE_TYPE": ExtraFileType,
		"EXTRA_HEADERS": ExtraHeaders,
		"ANSWER_RESULT": AnswerResult, "ANSWER_NO_RESULT": AnswerNoResult,
		"ANSWER_ERROR": AnswerError, "ANSWER_VERDICT": AnswerVerdict,
		"ANSWER_BAD_INPUT": AnswerBadInput, "ANSWER_UNENCODABLE": AnswerUnencodable,
		"FLAG_HAS_CODE": FlagHasCode, "FLAG_HAS_ID": FlagHasID, "FLAG_HAS_DATA": FlagHasData,
		"FLAG_HAS_HTTP_CODE": FlagHasHTTPCode, "FLAG_DATA_UNDEFINED": FlagDataUndefined,
		"FLAG_ALLOW":    FlagAllow,
		"ABORT_TIMEOUT": AbortTimeout, "ABORT_DISCONNECT": AbortDisconnect,
		"ABORT_CLOSING": AbortClosing, "ABORT_SHUTTING_DOWN": AbortShuttingDown, "ABORT_TOO_LARGE": AbortTooLarge, "ABORT_BAD_HEADER": AbortBadHeader,
		"SIGNAL_WAKE": SignalWake, "SIGNAL_CLOSED": SignalClosed, "SIGNAL_FAILED": SignalFailed,
		"EXCHANGE_WAKE": ExchangeWake, "EXCHANGE_FLUSH": ExchangeFlush,
		"STATS": Stats, "ABORT_REASONS": reasons, "ANSWERS": protocol.Constants(), "ANSWER_CODES": protocol.CodeList(),
	})
	if err != nil {
		panic(err) // static data: cannot fail
	}
	return out
}

// PutCallHeader writes a call record header into rec[:CallHeader].
func PutCallHeader(rec []byte, id uint32, kind, flags byte, aux uint16, slot uint32, inputLen, extraLen int) {
	binary.LittleEndian.PutUint32(rec[CallAtID:], id)
	rec[CallAtKind], rec[CallAtFlags] = kind, flags
	binary.LittleEndian.PutUint16(rec[CallAtAux:], aux)
	binary.LittleEndian.PutUint32(rec[CallAtSlot:], slot)
	binary.LittleEndian.PutUint32(rec[CallAtInputLen:], uint32(inputLen))
	binary.LittleEndian.PutUint32(rec[CallAtExtraLen:], uint32(extraLen))
	binary.LittleEndian.PutUint32(rec[CallAtExtraLen+4:], 0)
}

// RecordSize is the room a Go → JavaScript record with this input and these extras
// (indexed by tag, nil absent) takes.
func RecordSize(input []byte, extras *[ExtraCount][]byte) int {
	n := CallHeader + len(input)
	for _, x := range extras {
		if x != nil {
			n += ExtraHeader + len(x)
		}
	}
	return n
}

// PutRecord writes a whole Go → JavaScript record into rec (at least RecordSize long)
// and returns its size.
func PutRecord(rec []byte, id uint32, kind, flags byte, aux uint16, slot uint32, input []byte, extras *[ExtraCount][]byte) int {
	n := CallHeader + copy(rec[CallHeader:], input)
	start := n
	for tag, x := range extras {
		if x != nil {
			n += PutExtra(rec[n:], uint32(tag), x)
		}
	}
	PutCallHeader(rec, id, kind, flags, aux, slot, len(input), n-start)
	return n
}

// PutExtra writes one extra (header and value) at rec and returns the bytes written.
func PutExtra(rec []byte, tag uint32, value []byte) int {
	binary.LittleEndian.PutUint32(rec[ExtraAtTag:], tag)
	binary.LittleEndian.PutUint32(rec[ExtraAtLen:], uint32(len(value)))
	return ExtraHeader + copy(rec[ExtraHeader:], value)
}

// ErrCorrupt: an answer batch that does not parse. It means lib/dispatcher.js and this
// package disagree: a bug, never user input.
var ErrCorrupt = errors.New("wire: corrupt answer batch")

// Answer is one decoded JavaScript → Go record. Its slices alias the batch.
type Answer struct {
	ID       uint32
	Kind     byte
	Flags    byte
	Status   int
	HTTPCode int
	Payload  []byte
}

// NextAnswer decodes the first answer of batch and returns it with the rest.
func NextAnswer(batch []byte) (Answer, []byte, error) {
	if len(batch) < AnswerHeader {
		return Answer{}, nil, ErrCorrupt
	}
	n := int(binary.LittleEndian.Uint32(batch[AnswerAtLen:]))
	if n < 0 || n > len(batch)-AnswerHeader {
		return Answer{}, nil, ErrCorrupt
	}
	a := Answer{
		ID:       binary.LittleEndian.Uint32(batch[AnswerAtID:]),
		Kind:     batch[AnswerAtKind],
		Flags:    batch[AnswerAtFlags],
		Status:   int(binary.LittleEndian.Uint16(batch[AnswerAtStatus:])),
		HTTPCode: int(binary.LittleEndian.Uint32(batch[AnswerAtHTTPCode:])),
		Payload:  batch[AnswerHeader : AnswerHeader+n],
	}
	return a, batch[AnswerHeader+n:], nil
}

// ErrorFields are the parts of an error answer. Absent parts are nil.
type ErrorFields struct {
	Code, Message, ID, Data []byte
}

// SplitError decodes the payload of an AnswerError record.
func SplitError(a Answer) (ErrorFields, error) {
	var f ErrorFields
	p := a.Payload
	take := func() (v []byte, ok bool) {
		v, p, ok = nextField(p)
		return v, ok
	}
	ok := true
	if a.Flags&FlagHasCode != 0 {
		f.Code, ok = take()
	}
	if ok {
		f.Message, ok = take()
	}
	if ok && a.Flags&FlagHasID != 0 {
		f.ID, ok = take()
	}
	if ok && a.Flags&FlagHasData != 0 {
		f.Data, ok = take()
	}
	if !ok || len(p) != 0 {
		return f, ErrCorrupt
	}
	return f, nil
}

// NextHeader decodes the first name and value of an AnswerStreamStart payload and
// returns them with the rest (they alias b). ok is false when b does not hold a whole
// pair (a bug, or the end when b is empty).
func NextHeader(b []byte) (name, value, rest []byte, ok bool) {
	name, b, ok = nextField(b)
	if !ok {
		return nil, nil, nil, false
	}
	value, b, ok = nextField(b)
	if !ok {
		return nil, nil, nil, false
	}
	return name, value, b, true
}

// nextField splits the first length-prefixed field (u32 len, then the bytes) off b.
func nextField(b []byte) (field, rest []byte, ok bool) {
	if len(b) < FieldLen {
		return nil, nil, false
	}
	n := binary.LittleEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-FieldLen) {
		return nil, nil, false
	}
	return b[FieldLen : FieldLen+n], b[FieldLen+n:], true
}

// AppendHeader appends a name and value as NextHeader reads them (lib/streams.js writes
// the same).
func AppendHeader(dst []byte, name, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(name)))
	dst = append(dst, name...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(value)))
	return append(dst, value...)
}
