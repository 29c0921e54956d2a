// Command librunner is the Go half of the Node addon, built with -buildmode=c-shared.
// This package is the whole cgo surface: every exported function is listed in abi.h,
// and nothing else in the project imports "C".
//
// Rules that keep the host process alive (see docs/architecture.md):
//   - no export panics across the C boundary: each one recovers;
//   - Go never writes to stdout/stderr and ignores SIGPIPE;
//   - every piece of state is per server, reached through a handle;
//   - a server signals only between a successful listen and RN_SIGNAL_CLOSED or
//     rn_detach, enforced by its notifier (notifier.go).
package main

/*
#include "abi.h"

static inline void rn_call_signal(rn_signal_fn fn, void *ctx, int32_t what) { fn(ctx, what); }
*/
import "C"

import (
	"encoding/binary"
	"io"
	"log"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	json "github.com/goccy/go-json"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/latency"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
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

// instance is one TunnelServer: until it listens, its configuration and registrations;
// then its group (the listener it serves, alone or shared with other threads through
// reusePort) and the bridge port through which its JavaScript thread is reached.
type instance struct {
	cfg       config.Config
	early     []registry.Registration // registrations made before listen
	grp       *group
	port      *bridge.Port
	portIndex int32
	sig       notifier
	closing   atomic.Bool
}

var (
	handles    sync.Map // uint64 -> *instance
	lastHandle atomic.Uint64
)

func lookup(h C.uint64_t) *instance {
	if v, ok := handles.Load(uint64(h)); ok {
		return v.(*instance)
	}
	return nil
}

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

func errorJSON(err error) []byte {
	if fe, ok := err.(*config.FieldError); ok {
		out, _ := json.Marshal(fe)
		return out
	}
	if le, ok := err.(*server.ListenError); ok {
		out, _ := json.Marshal(le)
		return out
	}
	out, _ := json.Marshal(map[string]string{"kind": "Error", "code": "EINTERNAL", "message": err.Error()})
	return out
}

var internalError = []byte(`{"kind":"Error","code":"EINTERNAL","message":"internal error in the Go library"}`)

// guard turns a panic in an export into a failure result instead of a crash of Node.
func guard(onPanic func()) {
	if r := recover(); r != nil && onPanic != nil {
		onPanic()
	}
}

func bytesOf(p *C.uint8_t, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export rn_constants
func rn_constants(buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	out := wire.Constants()
	if len(out) > int(capacity) {
		return -C.int64_t(len(out))
	}
	return C.int64_t(copy(bytesOf(buf, capacity), out))
}

//export rn_check_config
func rn_check_config(cfgJSON *C.char, cfgLen C.size_t, out *C.char, outCap C.size_t) (n C.int64_t) {
	defer guard(func() { n = C.int64_t(writeOut(out, outCap, internalError)) })
	if _, err := config.Decode(unsafe.Slice((*byte)(unsafe.Pointer(cfgJSON)), int(cfgLen))); err != nil {
		return C.int64_t(writeOut(out, outCap, errorJSON(err)))
	}
	return 0
}

//export rn_create
func rn_create(cfgJSON *C.char, cfgLen C.size_t, errBuf *C.char, errCap C.size_t) (h C.uint64_t) {
	defer guard(func() { h = 0; writeOut(errBuf, errCap, internalError) })
	cfg, err := config.Decode(unsafe.Slice((*byte)(unsafe.Pointer(cfgJSON)), int(cfgLen)))
	if err != nil {
		writeOut(errBuf, errCap, errorJSON(err))
		return 0
	}
	in := &instance{cfg: cfg}
	id := lastHandle.Add(1)
	handles.Store(id, in)
	return C.uint64_t(id)
}

//export rn_register
func rn_register(h C.uint64_t, batch *C.uint8_t, length C.size_t) (rc C.int32_t) {
	defer guard(func() { rc = -1 })
	in := lookup(h)
	if in == nil {
		return -1
	}
	regs, ok := decodeRegistrations(bytesOf(batch, length))
	if !ok {
		return -1
	}
	if in.grp == nil {
		in.early = append(in.early, regs...)
	} else {
		in.grp.reg.Apply(in.portIndex, regs)
	}
	return 0
}

// decodeRegistrations parses a registration batch (see internal/wire).
func decodeRegistrations(b []byte) ([]registry.Registration, bool) {
	var regs []registry.Registration
	for len(b) > 0 {
		if len(b) < wire.RegHeader {
			return nil, false
		}
		kind, flags := b[wire.RegAtKind], b[wire.RegAtFlags]
		n := int(binary.LittleEndian.Uint16(b[wire.RegAtIDLen:]))
		slot := int32(binary.LittleEndian.Uint32(b[wire.RegAtSlot:]))
		if len(b) < wire.RegHeader+n || route.FromWire(kind) == route.None {
			return nil, false
		}
		regs = append(regs, registry.Registration{
			Kind: route.FromWire(kind), ID: string(b[wire.RegHeader : wire.RegHeader+n]), Slot: slot,
			Listed: flags&wire.RegListed != 0, Missing: flags&wire.RegMissing != 0,
		})
		b = b[wire.RegHeader+n:]
	}
	return regs, true
}

//export rn_listen
func rn_listen(h C.uint64_t, fn C.rn_signal_fn, ctx unsafe.Pointer, errBuf *C.char, errCap C.size_t) (rc C.int32_t) {
	defer guard(func() { rc = -1; writeOut(errBuf, errCap, internalError) })
	in := lookup(h)
	if in == nil {
		writeOut(errBuf, errCap, []byte(`{"code":"EINVAL","errno":-22,"syscall":"listen","message":"unknown server handle"}`))
		return -1
	}
	port, err := listen(in, func(what int32) { C.rn_call_signal(fn, ctx, C.int32_t(what)) })
	if err != nil {
		writeOut(errBuf, errCap, errorJSON(err))
		return -1
	}
	return C.int32_t(port)
}

// listen binds (or joins a reusePort group) and returns the port. The notifier is armed
// before the group can hand this server a call, so no wake-up is lost; when listening
// fails it is detached for good, and send (holding the addon's pointer) is forgotten.
func listen(in *instance, send func(what int32)) (int, error) {
	if in.grp != nil {
		return 0, &server.ListenError{Code: "ERR_SERVER_ALREADY_LISTEN", Syscall: "listen", Message: "already listening"}
	}
	in.sig.arm(send)
	g, err := joinOrBind(in)
	if err != nil {
		in.sig.detach()
		return 0, err
	}
	return g.srv.Port(), nil
}

//export rn_exchange
func rn_exchange(h C.uint64_t, mode C.int32_t, answers *C.uint8_t, answersLen C.size_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = -1 })
	in := lookup(h)
	if in == nil || in.port == nil {
		return 0
	}
	written, need, err := in.port.Exchange(bytesOf(answers, answersLen), bytesOf(buf, capacity), int(mode))
	switch {
	case err != nil:
		return -1
	case need > 0:
		return -C.int64_t(need)
	}
	return C.int64_t(written)
}

//export rn_headers
func rn_headers(h C.uint64_t, id C.uint32_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	in := lookup(h)
	if in == nil || in.port == nil || buf == nil {
		return 0
	}
	out, ok := in.port.Headers(nil, uint32(id))
	if !ok {
		return 0
	}
	if len(out) > int(capacity) {
		return -C.int64_t(len(out))
	}
	return C.int64_t(copy(bytesOf(buf, capacity), out))
}

//export rn_remote
func rn_remote(h C.uint64_t, id C.uint32_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	in := lookup(h)
	if in == nil || in.port == nil || buf == nil {
		return 0
	}
	var scratch [64]byte // "[ipv6%zone]:port" fits
	out, ok := in.port.Remote(scratch[:0], uint32(id))
	if !ok {
		return 0
	}
	if len(out) > int(capacity) {
		return -C.int64_t(len(out))
	}
	return C.int64_t(copy(bytesOf(buf, capacity), out))
}

//export rn_close
func rn_close(h C.uint64_t, timeoutMs C.int64_t) {
	defer guard(nil)
	in := lookup(h)
	if in == nil || in.grp == nil || !in.closing.CompareAndSwap(false, true) {
		return
	}
	timeout := config.Millis(in.cfg.CloseTimeoutMs) // timeoutMs < 0: the configured one
	if timeoutMs >= 0 {
		timeout = time.Duration(timeoutMs) * time.Millisecond
	}
	last := in.grp.detach(in) // at once: no new call reaches this thread from here on
	if last {
		in.grp.srv.BeginClose() // at once too: every answer from now on says Connection: close
	}
	go func() {
		defer guard(nil)
		in.grp.finish(in, last, timeout, false) // JavaScript keeps answering meanwhile
		in.sig.close(wire.SignalClosed)         // the last signal; handles.Delete follows in rn_free
	}()
}

//export rn_close_connections
func rn_close_connections(h C.uint64_t, idleOnly C.int32_t) {
	defer guard(nil)
	if in := lookup(h); in != nil && in.grp != nil {
		if idleOnly != 0 {
			in.grp.srv.CloseIdleConnections()
		} else {
			in.grp.srv.CloseAllConnections()
		}
	}
}

//export rn_detach
func rn_detach(h C.uint64_t) {
	defer guard(nil)
	in := lookup(h)
	if in == nil {
		return
	}
	in.sig.detach() // waits for a signal in progress; none can start after this
	if in.grp == nil {
		handles.Delete(uint64(h))
		return
	}
	if !in.closing.CompareAndSwap(false, true) {
		// close() is under way: its goroutine finishes the job; what is pending now can
		// no longer be answered by JavaScript.
		in.port.Shutdown(protocol.ShuttingDown)
		handles.Delete(uint64(h))
		return
	}
	go func() {
		defer guard(nil)
		in.grp.leave(in, config.Millis(in.cfg.CloseTimeoutMs), true)
		handles.Delete(uint64(h))
	}()
}

//export rn_free
func rn_free(h C.uint64_t) {
	defer guard(nil)
	if v, ok := handles.LoadAndDelete(uint64(h)); ok {
		v.(*instance).sig.detach()
	}
}

//export rn_stats
func rn_stats(h C.uint64_t, out *C.uint64_t, n C.size_t) (written C.int32_t) {
	defer guard(func() { written = 0 })
	in := lookup(h)
	if in == nil || out == nil {
		return 0
	}
	values := in.stats()
	dst := unsafe.Slice((*uint64)(unsafe.Pointer(out)), int(n))
	return C.int32_t(copy(dst, values))
}

// statReaders read each counter of wire.Stats (a test checks that none is missing).
// Server counters are the listener's (shared by the threads of a reusePort group);
// the thread* ones are this server's own.
var statReaders = map[string]func(in *instance) uint64{
	"requests":         func(in *instance) uint64 { return in.grp.srv.Stats().Requests.Load() },
	"status2xx":        func(in *instance) uint64 { return in.grp.srv.Stats().Status2xx.Load() },
	"status4xx":        func(in *instance) uint64 { return in.grp.srv.Stats().Status4xx.Load() },
	"status5xx":        func(in *instance) uint64 { return in.grp.srv.Stats().Status5xx.Load() },
	"panics":           func(in *instance) uint64 { return in.grp.srv.Stats().Panics.Load() },
	"pending":          func(in *instance) uint64 { return uint64(in.grp.pool.Pending()) },
	"connections":      func(in *instance) uint64 { return uint64(in.grp.srv.OpenConnections()) },
	"inFlight":         func(in *instance) uint64 { return uint64(max(in.grp.srv.Stats().InFlight.Load(), 0)) },
	"timeouts":         func(in *instance) uint64 { return in.grp.pool.Stats().Timeouts.Load() },
	"rejected":         func(in *instance) uint64 { return in.grp.pool.Stats().Rejected.Load() },
	"disconnects":      func(in *instance) uint64 { return in.grp.pool.Stats().Disconnects.Load() },
	"closedByDeadline": func(in *instance) uint64 { return in.grp.pool.Stats().ClosedByDeadline.Load() },
	"rejectedHTTP":     func(in *instance) uint64 { return in.grp.srv.Stats().RejectedHTTP.Load() },
	"threads":          func(in *instance) uint64 { return uint64(in.grp.pool.Ports()) },
	"threadPending":    func(in *instance) uint64 { return uint64(in.port.Pending()) },
	"threadCalls":      func(in *instance) uint64 { return in.port.Calls() },
	"streamErrors":     func(in *instance) uint64 { return in.grp.pool.Stats().StreamErrors.Load() },
	"authFailures":     func(in *instance) uint64 { return in.grp.srv.Stats().AuthFailures.Load() },
	"recordsDropped":   func(in *instance) uint64 { return in.grp.pool.Stats().RecordsDropped.Load() },
}

// stats returns the counters in the order of wire.Stats, then the latency histogram
// (see wire.Stats); zeros before listen.
func (in *instance) stats() []uint64 {
	out := make([]uint64, len(wire.Stats), len(wire.Stats)+1+latency.Buckets)
	if in.grp == nil {
		return out[:cap(out)]
	}
	for i, name := range wire.Stats {
		if read := statReaders[name]; read != nil {
			out[i] = read(in)
		}
	}
	return in.grp.srv.Stats().Latency.AppendTo(out)
}
