package wire

// The process transport: where a Go library cannot be loaded into Node (musl: Alpine),
// the addon starts cmd/runner-server, a static Go program serving internal/host, and
// makes the thirteen calls of abi.h over sockets instead of through dlopen. This block
// is the contract between that program and the addon's C side, which hard-codes the same
// numbers (JavaScript never sees them, so they are not in Constants()).
//
// The child inherits two connected SOCK_STREAM Unix sockets: ProcessCallFD (calls and
// their responses) and ProcessSignalFD (signals, child to parent only). All integers are
// little-endian.
//
// Call request, parent → child on ProcessCallFD, ProcessCallHeader bytes then payload:
//
//	offset 0   u32 length   bytes after this field: ProcessCallHeader - 4 + payload length
//	offset 4   u8  op       Op*
//	offset 5   u8[3]        zero
//	offset 8   u64 handle   the server (0 for OpConstants, OpCheckConfig, OpCreate)
//	offset 16  i64 arg      per op, below (0 when unused)
//	offset 24  u64 cap      capacity of the caller's output buffer, in bytes (OpStats:
//	                        in counters); the response payload is never larger
//	offset 32  payload      per op, below
//
// Call response, child → parent on ProcessCallFD, exactly one per request, in order:
//
//	offset 0   u32 length   bytes after this field: 8 + payload length
//	offset 4   i64 result   per op, below (not 8-aligned: copy it out)
//	offset 12  payload      per op, below; at most cap bytes
//
// Ops (the request's payload in, the result, the response's payload out):
//
//	1  OpConstants        -; rn_constants' result (n or -size); the JSON when n > 0
//	2  OpCheckConfig      the config; 0 when valid, else the bytes of error JSON sent;
//	                      the error JSON, cut to cap-1 bytes (nothing when cap is 0) so
//	                      that the caller can NUL-terminate it as rn_check_config does
//	3  OpCreate           the config; the handle (u64 in the i64), or 0 with the error
//	                      JSON cut as above
//	4  OpRegister         h, the batch; rn_register's result
//	5  OpListen           h; the port, or -1 with the error JSON cut as above. On
//	                      success, h's signals are written to ProcessSignalFD
//	6  OpExchange         h, arg = mode, the answers; rn_exchange's result; the records
//	                      (result bytes) when result > 0
//	7  OpHeaders          h, arg = call id; rn_headers' result; the JSON when > 0
//	8  OpRemote           h, arg = call id; rn_remote's result; the address when > 0
//	9  OpClose            h, arg = timeoutMs; 0
//	10 OpCloseConnections h, arg = idleOnly (0 or 1); 0
//	11 OpDetach           h; 0. Written once host.Detach returned: no signal frame for
//	                      h is written after this response (one written before may still
//	                      be unread on ProcessSignalFD)
//	12 OpFree             h; 0
//	13 OpStats            h, cap = how many u64 counters fit; how many were written;
//	                      result × 8 bytes of u64 counters
//
// Signal frame, child → parent on ProcessSignalFD, ProcessSignalFrame bytes, each
// written whole (writers are serialized):
//
//	offset 0   u64 handle
//	offset 8   i32 what     SignalWake or SignalClosed
//	offset 12  u32          zero
//
// Lifetime: the child serves until ProcessCallFD reaches end of file (the parent closed
// it or died), then exits 0 at once, even with servers listening. A failed write on
// either socket means the parent is gone: the child exits 0. A request the child cannot
// parse (length below ProcessCallHeader-4 or above ProcessMaxFrame, an unknown op) is a
// bug in the parent: the child writes one line to stderr and exits 2. It ignores SIGINT,
// SIGTERM, SIGHUP, SIGQUIT and SIGPIPE: a Ctrl-C reaches Node, which closes its servers
// through this protocol.
const (
	ProcessCallFD   = 3
	ProcessSignalFD = 4

	ProcessLengthSize     = 4  // the u32 length before each request and response
	ProcessCallHeader     = 32 // a request's bytes before its payload, the length included
	ProcessResponseHeader = 12 // a response's bytes before its payload, the length included
	ProcessSignalFrame    = 16

	// Offsets in a request (from its first byte, the length's).
	ProcessCallAtOp     = 4  // u8
	ProcessCallAtHandle = 8  // u64
	ProcessCallAtArg    = 16 // i64
	ProcessCallAtCap    = 24 // u64
	// Offsets in a response.
	ProcessResponseAtResult = 4 // i64
	// Offsets in a signal frame.
	ProcessSignalAtHandle = 0 // u64
	ProcessSignalAtWhat   = 8 // i32

	// ProcessMaxFrame bounds a request's length and a response's payload (a larger cap
	// is taken as this one): 1 GiB, far above any buffer the addon uses.
	ProcessMaxFrame = 1 << 30
)

// Ops of the process transport (a request's op byte), one per abi.h function.
const (
	OpConstants        = 1
	OpCheckConfig      = 2
	OpCreate           = 3
	OpRegister         = 4
	OpListen           = 5
	OpExchange         = 6
	OpHeaders          = 7
	OpRemote           = 8
	OpClose            = 9
	OpCloseConnections = 10
	OpDetach           = 11
	OpFree             = 12
	OpStats            = 13
)
