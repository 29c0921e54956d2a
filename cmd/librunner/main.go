// Command librunner is the Go half of the Node addon, built with -buildmode=c-shared.
// This package is the whole cgo surface: every exported function is listed in abi.h,
// and nothing else in the project imports "C". Each export only turns C pointers into Go
// slices and calls internal/host, which holds the servers and every rule about them
// (lifetimes, panics, signals); the same host serves cmd/runner-server where a Go
// library cannot be loaded.
//
// Rules that keep the host process alive (see docs/architecture.md):
//   - no export panics across the C boundary: host recovers in each function, and each
//     export that turns a C pointer into a slice recovers too (unsafe.Slice panics on a
//     length no buffer can have), with the failure value abi.h documents;
//   - Go never writes to stdout/stderr and ignores SIGPIPE;
//   - the signal callback is called only while host's notifier allows it.
package main

/*
#include "abi.h"

static inline void rn_call_signal(rn_signal_fn fn, void *ctx, int32_t what) { fn(ctx, what); }
*/
import "C"

import (
	"io"
	"log"
	"os/signal"
	"syscall"
	"unsafe"

	"github.com/bluelibs/runner-native/internal/host"
	"github.com/bluelibs/runner-native/internal/wire"
)

// abi.h and internal/wire must agree on the signals: a mismatch does not compile.
const (
	_ = -uint(C.RN_SIGNAL_WAKE - wire.SignalWake)
	_ = uint(C.RN_SIGNAL_WAKE - wire.SignalWake)
	_ = -uint(C.RN_SIGNAL_CLOSED - wire.SignalClosed)
	_ = uint(C.RN_SIGNAL_CLOSED - wire.SignalClosed)
	_ = -uint(C.RN_SIGNAL_FAILED - wire.SignalFailed)
	_ = uint(C.RN_SIGNAL_FAILED - wire.SignalFailed)
)

func init() {
	// Loading a Go library installs Go's SIGPIPE handler in place of Node's "ignore":
	// a write to a closed socket or pipe would then kill Node. Restore "ignore".
	signal.Ignore(syscall.SIGPIPE)
	// Nothing of ours may print into the host's stderr.
	log.SetOutput(io.Discard)
}

func main() {} // required by -buildmode=c-shared; never runs

// writeOut copies msg into a C buffer of capacity n, NUL-terminated and truncated, and
// returns the bytes copied.
func writeOut(buf *C.char, n C.size_t, msg []byte) int {
	if buf == nil || n == 0 {
		return 0
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	k := copy(dst[:len(dst)-1], msg)
	dst[k] = 0
	return k
}

// guard turns a panic in an export's own conversions into its failure result.
func guard(onPanic func()) {
	if r := recover(); r != nil {
		onPanic()
	}
}

func bytesOf(p *C.uint8_t, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

func charsOf(p *C.char, n C.size_t) []byte {
	return bytesOf((*C.uint8_t)(unsafe.Pointer(p)), n)
}

//export rn_constants
func rn_constants(buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	return C.int64_t(host.Constants(bytesOf(buf, capacity)))
}

//export rn_check_config
func rn_check_config(cfgJSON *C.char, cfgLen C.size_t, out *C.char, outCap C.size_t) (n C.int64_t) {
	defer guard(func() { n = C.int64_t(writeOut(out, outCap, host.InternalError)) })
	if errJSON := host.CheckConfig(charsOf(cfgJSON, cfgLen)); errJSON != nil {
		return C.int64_t(writeOut(out, outCap, errJSON))
	}
	return 0
}

//export rn_create
func rn_create(cfgJSON *C.char, cfgLen C.size_t, errBuf *C.char, errCap C.size_t) (h C.uint64_t) {
	defer guard(func() { h = 0; writeOut(errBuf, errCap, host.InternalError) })
	id, errJSON := host.Create(charsOf(cfgJSON, cfgLen))
	if id == 0 {
		writeOut(errBuf, errCap, errJSON)
	}
	return C.uint64_t(id)
}

//export rn_register
func rn_register(h C.uint64_t, batch *C.uint8_t, length C.size_t) (rc C.int32_t) {
	defer guard(func() { rc = -1 })
	return C.int32_t(host.Register(uint64(h), bytesOf(batch, length)))
}

//export rn_listen
func rn_listen(h C.uint64_t, fn C.rn_signal_fn, ctx unsafe.Pointer, errBuf *C.char, errCap C.size_t) (rc C.int32_t) {
	defer guard(func() { rc = -1; writeOut(errBuf, errCap, host.InternalError) })
	port, errJSON := host.Listen(uint64(h), func(what int32) { C.rn_call_signal(fn, ctx, C.int32_t(what)) })
	if port < 0 {
		writeOut(errBuf, errCap, errJSON)
	}
	return C.int32_t(port)
}

//export rn_exchange
func rn_exchange(h C.uint64_t, mode C.int32_t, answers *C.uint8_t, answersLen C.size_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = -1 })
	return C.int64_t(host.Exchange(uint64(h), int32(mode), bytesOf(answers, answersLen), bytesOf(buf, capacity)))
}

//export rn_headers
func rn_headers(h C.uint64_t, id C.uint32_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	if buf == nil {
		return 0
	}
	return C.int64_t(host.Headers(uint64(h), uint32(id), bytesOf(buf, capacity)))
}

//export rn_remote
func rn_remote(h C.uint64_t, id C.uint32_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	if buf == nil {
		return 0
	}
	return C.int64_t(host.Remote(uint64(h), uint32(id), bytesOf(buf, capacity)))
}

//export rn_close
func rn_close(h C.uint64_t, timeoutMs C.int64_t) { host.Close(uint64(h), int64(timeoutMs)) }

//export rn_close_connections
func rn_close_connections(h C.uint64_t, idleOnly C.int32_t) {
	host.CloseConnections(uint64(h), idleOnly != 0)
}

//export rn_detach
func rn_detach(h C.uint64_t) { host.Detach(uint64(h)) }

//export rn_free
func rn_free(h C.uint64_t) { host.Free(uint64(h)) }

//export rn_stats
func rn_stats(h C.uint64_t, out *C.uint64_t, n C.size_t) (written C.int32_t) {
	defer guard(func() { written = 0 })
	if out == nil || n == 0 {
		return 0
	}
	dst := unsafe.Slice((*uint64)(unsafe.Pointer(out)), int(n))
	return C.int32_t(host.Stats(uint64(h), dst))
}
