package protocol

import "sort"

// Answer is one failure as a client (or a handler's stream) reads it: its HTTP status,
// its stable machine-readable code and its message. Every status, code and message the
// server gives by itself is an Answer of this package: the two Failure tables, the
// strict HTTP guard's refusals, runner's form refusals, the stream failures and the
// codes JavaScript puts on what it answers or fails (exported by Constants). A test
// (codes_test.go) fails if a code is written anywhere else.
type Answer struct {
	Status  int    // 0 where the answer is no HTTP response (a stream's failure, a signal's reason)
	Code    string // upper-case ASCII
	Message string // "{}" is replaced by an argument where a Failure takes one
}

// Error makes an Answer an error value (form refusals travel as errors).
func (a *Answer) Error() string { return a.Message }

// The strict HTTP guard's refusals (internal/httpguard). Each is a shared constant
// value: never modify one. Their messages are plain ASCII without quotes or
// backslashes (the guard writes its default body without escaping).
var (
	GuardRequestLine        = &Answer{400, "BAD_REQUEST", "Malformed request line"}
	GuardTarget             = &Answer{400, "BAD_REQUEST", "Invalid request target"}
	GuardNoVersion          = &Answer{400, "BAD_REQUEST", "Missing HTTP version (HTTP/0.9 is not supported)"}
	GuardVersion            = &Answer{400, "BAD_REQUEST", "Malformed HTTP version"}
	GuardVersionUnsupported = &Answer{505, "HTTP_VERSION_NOT_SUPPORTED", "Only HTTP/1.0 and HTTP/1.1 are supported"}
	GuardMethod             = &Answer{501, "NOT_IMPLEMENTED", "Unknown method"}
	GuardConnect            = &Answer{501, "NOT_IMPLEMENTED", "CONNECT is not supported"}
	GuardBareLF             = &Answer{400, "BAD_REQUEST", "Lines must end with CRLF"}
	GuardObsFold            = &Answer{400, "BAD_REQUEST", "Obsolete line folding is not allowed"}
	GuardFieldName          = &Answer{400, "BAD_REQUEST", "Invalid header field name"}
	GuardFieldValue         = &Answer{400, "BAD_REQUEST", "Invalid header field value"}
	GuardNoHost             = &Answer{400, "BAD_REQUEST", "Missing Host header"}
	GuardDupHost            = &Answer{400, "BAD_REQUEST", "Duplicate Host header"}
	GuardHost               = &Answer{400, "BAD_REQUEST", "Invalid Host header"}
	GuardLength             = &Answer{400, "BAD_REQUEST", "Invalid Content-Length"}
	GuardDupLength          = &Answer{400, "BAD_REQUEST", "Duplicate Content-Length"}
	GuardLengthAndTE        = &Answer{400, "BAD_REQUEST", "Content-Length and Transfer-Encoding together"}
	GuardChunkedNotLast     = &Answer{400, "BAD_REQUEST", "Transfer-Encoding must end with chunked, once"}
	GuardTE10               = &Answer{400, "BAD_REQUEST", "Transfer-Encoding in an HTTP/1.0 request"}
	GuardCoding             = &Answer{501, "NOT_IMPLEMENTED", "Unsupported transfer coding: only chunked is implemented"}
	GuardExpect             = &Answer{417, "EXPECTATION_FAILED", "Unsupported expectation: only 100-continue is supported"}
	GuardChunkSize          = &Answer{400, "BAD_REQUEST", "Invalid chunk size"}
	GuardChunkExt           = &Answer{400, "BAD_REQUEST", "Invalid chunk extension"}
	GuardChunkData          = &Answer{400, "BAD_REQUEST", "Chunk data not followed by CRLF"}
	GuardChunkLineTooLarge  = &Answer{413, "PAYLOAD_TOO_LARGE", "Chunk extensions too large"}
	GuardTrailerFraming     = &Answer{400, "BAD_REQUEST", "Content-Length or Transfer-Encoding in trailers"}
	GuardHeadTooLarge       = &Answer{431, "HEADERS_TOO_LARGE", "Request headers too large"}
	GuardTimeout            = &Answer{408, "REQUEST_TIMEOUT", "Request headers not received in time"}
	GuardOverload           = &Answer{503, "SERVICE_UNAVAILABLE", "Too many connections"}
)

// runner's refusals of a multipart form (src/node/exposure/multipart.ts@5.5.0), and
// the ones of this server's reading of it.
var (
	FormInvalid         = &Answer{400, "INVALID_MULTIPART", "Invalid multipart payload"}
	FormInvalidManifest = &Answer{400, "INVALID_MULTIPART", "Invalid manifest"}
	FormMissingManifest = &Answer{400, "MISSING_MANIFEST", "Missing manifest"}
	FormFileTooLarge    = &Answer{413, "PAYLOAD_TOO_LARGE", "File size limit exceeded"}
	FormTooManyFiles    = &Answer{413, "PAYLOAD_TOO_LARGE", "Files limit exceeded"}
	FormTooManyFields   = &Answer{413, "PAYLOAD_TOO_LARGE", "Fields limit exceeded"}
	FormTooManyParts    = &Answer{413, "PAYLOAD_TOO_LARGE", "Parts limit exceeded"}
	FormFieldTooLarge   = &Answer{413, "PAYLOAD_TOO_LARGE", "Field limit exceeded"}
	// FormFileCut: the body ended inside a file part (busboy fails that file's stream
	// before the form, and runner answers the stream's error).
	FormFileCut = &Answer{500, "STREAM_ERROR", "Multipart stream error"}
	// FormEarlyFile: a file part before the manifest was too big to keep. runner's
	// client always sends the manifest first; runner itself would wait for ever (busboy
	// holds the part until the task, which needs the manifest, reads it).
	FormEarlyFile = &Answer{400, "INVALID_MULTIPART", "Invalid multipart payload: at most 64 file parts may come before __manifest, of at most 64 KiB each, 1 MiB in all"}
	// FormReaderPanic: the form's reader panicked: 500, as any Go panic.
	FormReaderPanic = &Answer{500, "INTERNAL_ERROR", "Internal Error"}
	// FormMissingFilePart: the manifest names a file the form did not carry (runner's
	// handleCompletion); JavaScript appends the id.
	FormMissingFilePart = &Answer{500, "MISSING_FILE_PART", "Missing file part for id {}"}
	// FormDiscarded: how a form ends when its call settled before it was read.
	FormDiscarded = &Answer{500, StreamDiscarded.Code, "The call settled before the form was read"}
)

// Stream failures: what a request body's stream (ctx.body, a form's file) fails with.
var (
	// StreamDiscarded: the call settled before reading this stream to its end; the rest
	// of it was dropped. One code for a raw body and a file (runner's users see it on
	// their files: README, docs/streaming.md).
	StreamDiscarded = &Answer{0, "FILE_DISCARDED", "The task settled before reading this file: the rest of it was discarded"}
	// BodyDiscarded is StreamDiscarded told of a raw body (ctx.body).
	BodyDiscarded = &Answer{0, StreamDiscarded.Code, "The call settled before this body was read to its end"}
	// BodyReadFailed: a body's stream failed without a code of its own.
	BodyReadFailed = &Answer{0, "BODY_READ_FAILED", "The request body failed"}
)

// The reasons a running call is aborted, as JavaScript puts them on ctx.signal.reason
// (wire.Abort* numbers them on the wire).
var (
	AbortTimeout      = &Answer{0, "TIMEOUT", "The handler did not settle within taskTimeoutMs"}
	AbortDisconnect   = &Answer{0, "CLIENT_DISCONNECTED", "The client disconnected"}
	AbortClosing      = &Answer{0, "SERVER_CLOSING", "The server is closing"}
	AbortShuttingDown = &Answer{0, AbortClosing.Code, "The server is shutting down with its JavaScript environment"}
	AbortTooLarge     = &Answer{0, PayloadTooLargeCode, "The request body exceeds maxStreamBodySize"}
	AbortBadHeader    = &Answer{0, "INVALID_HEADER", "A header of the streamed answer is not valid HTTP: the call was answered 500"}
	// AbortUnknown: a reason JavaScript does not know (a newer library).
	AbortUnknown = &Answer{0, "ABORTED", "The call was aborted"}
)

// Answers JavaScript gives by itself (runner adapter, HandlerError's default).
var (
	// ParallelEventReturn: runner refuses returnPayload for a parallel event.
	ParallelEventReturn = &Answer{400, "PARALLEL_EVENT_RETURN_UNSUPPORTED", "Event {} is marked parallel; returning a payload is not supported."}
)

// PayloadTooLargeCode is the code of every answer about a size limit.
const PayloadTooLargeCode = "PAYLOAD_TOO_LARGE"

// jsAnswers are the answers JavaScript reads from Constants, by the names it uses.
func jsAnswers() map[string]*Answer {
	return map[string]*Answer{
		"CLIENT_GONE":            runnerAnswer(ClientGone),
		"UNAUTHORIZED":           runnerAnswer(Unauthorized),
		"TASK_NOT_EXPOSED":       runnerAnswer(TaskNotExposed),
		"EVENT_NOT_EXPOSED":      runnerAnswer(EventNotExposed),
		"INTERNAL":               runnerAnswer(handlerFailed),
		"FORM_TOO_MANY_FILES":    FormTooManyFiles,
		"FORM_MISSING_MANIFEST":  FormMissingManifest,
		"FORM_MISSING_FILE_PART": FormMissingFilePart,
		"FORM_DISCARDED":         FormDiscarded,
		"BODY_DISCARDED":         BodyDiscarded,
		"BODY_READ_FAILED":       BodyReadFailed,
		"ABORT_DISCONNECT":       AbortDisconnect,
		"ABORT_UNKNOWN":          AbortUnknown,
		"PARALLEL_EVENT_RETURN":  ParallelEventReturn,
	}
}

func runnerAnswer(f Failure) *Answer { a := runnerTable[f]; return &a }

// Constants returns the answers JavaScript needs (see jsAnswers) as one JSON object,
// name → {status, code, message}, for wire.Constants to hand over at load time.
func Constants() map[string]any {
	out := map[string]any{}
	for name, a := range jsAnswers() {
		out[name] = map[string]any{"status": a.Status, "code": a.Code, "message": a.Message}
	}
	return out
}

// Codes returns every code this package defines (for the test that no other file
// writes one).
func Codes() map[string]bool {
	codes := map[string]bool{}
	for _, t := range []*[len(seedTable)]Answer{&seedTable, &runnerTable} {
		for _, a := range t {
			codes[a.Code] = true
		}
	}
	for _, a := range all {
		codes[a.Code] = true
	}
	return codes
}

// CodeList returns Codes sorted, for JavaScript's check of the same rule
// (test/answers.test.js).
func CodeList() []string {
	var list []string
	for c := range Codes() {
		list = append(list, c)
	}
	sort.Strings(list)
	return list
}

// all lists every named Answer (for Codes and the tests).
var all = []*Answer{
	GuardRequestLine, GuardTarget, GuardNoVersion, GuardVersion, GuardVersionUnsupported,
	GuardMethod, GuardConnect, GuardBareLF, GuardObsFold, GuardFieldName, GuardFieldValue,
	GuardNoHost, GuardDupHost, GuardHost, GuardLength, GuardDupLength, GuardLengthAndTE,
	GuardChunkedNotLast, GuardTE10, GuardCoding, GuardExpect, GuardChunkSize, GuardChunkExt,
	GuardChunkData, GuardChunkLineTooLarge, GuardTrailerFraming, GuardHeadTooLarge,
	GuardTimeout, GuardOverload,
	FormInvalid, FormInvalidManifest, FormMissingManifest, FormFileTooLarge, FormTooManyFiles,
	FormTooManyFields, FormTooManyParts, FormFieldTooLarge, FormFileCut, FormEarlyFile,
	FormReaderPanic, FormMissingFilePart, FormDiscarded,
	StreamDiscarded, BodyDiscarded, BodyReadFailed,
	AbortTimeout, AbortDisconnect, AbortClosing, AbortShuttingDown, AbortTooLarge, AbortBadHeader, AbortUnknown,
	ParallelEventReturn,
}
