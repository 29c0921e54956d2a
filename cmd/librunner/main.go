// Command librunner is the Go half of the Node addon, built with -buildmode=c-shared.
// This file is the whole cgo surface: every exported function is listed in abi.h, and
// nothing else in the project imports "C".
//
// Rules that keep the host process alive (see docs/architecture.md):
//   - no export panics across the C boundary: each one recovers;
//   - Go never writes to stdout/stderr and ignores SIGPIPE;
//   - every piece of state is per server, reached through a handle;
//   - after RN_SIGNAL_CLOSED, or once rn_detach returns, a server never signals again.
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
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	json "github.com/goccy/go-json"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
)

func init() {
	// Loading a Go library installs Go's SIGPIPE handler in place of Node's "ignore":
	// a write to a closed socket or pipe would then kill Node. Restore "ignore".
	signal.Ignore(syscall.SIGPIPE)
	// Nothing of ours may print into the host's stderr.
	log.SetOutput(io.Discard)
}

func main() {} // required by -buildmode=c-shared; never runs

// instance is one server and the route back to its JavaScript environment.
type instance struct {
	reg    *registry.Registry
	srv    *server.Server
	bridge *bridge.Bridge

	sigMu    sync.RWMutex // held for reading around every signal, for writing by detach
	sigFn    C.rn_signal_fn
	sigCtx   unsafe.Pointer // C memory owned by the addon
	detached bool
}

func (in *instance) signal(what C.int32_t) {
	in.sigMu.RLock()
	defer in.sigMu.RUnlock()
	if in.detached || in.sigFn == nil {
		return
	}
	C.rn_call_signal(in.sigFn, in.sigCtx, what)
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

// writeErr copies msg into a C buffer of capacity n, NUL-terminated and truncated.
func writeErr(buf *C.char, n C.size_t, msg string) {
	if buf == nil || n == 0 {
		return
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(n))
	k := copy(dst[:len(dst)-1], msg)
	dst[k] = 0
}

// guard turns a panic in an export into a failure result instead of a crash of Node.
func guard(onPanic func()) {
	if r := recover(); r != nil && onPanic != nil {
		onPanic()
	}
}

//export rn_create
func rn_create(cfgJSON *C.char, cfgLen C.size_t, errBuf *C.char, errCap C.size_t) (h C.uint64_t) {
	defer guard(func() { h = 0; writeErr(errBuf, errCap, "internal error creating the server") })
	var cfg config.Config
	raw := unsafe.Slice((*byte)(unsafe.Pointer(cfgJSON)), int(cfgLen))
	if err := json.Unmarshal(raw, &cfg); err != nil {
		writeErr(errBuf, errCap, "invalid configuration: "+err.Error())
		return 0
	}
	in := &instance{reg: new(registry.Registry)}
	effective := cfg.WithDefaults()
	in.bridge = bridge.New(func() { in.signal(C.RN_SIGNAL_REQUESTS) }, bridge.Options{
		Timeout:       config.Millis(effective.TaskTimeoutMs),
		MaxPending:    effective.MaxInFlight,
		WatchInterval: bridge.DefaultWatchInterval,
	})
	srv, err := server.New(cfg, in.reg, in.bridge)
	if err != nil {
		writeErr(errBuf, errCap, err.Error())
		return 0
	}
	in.srv = srv
	id := lastHandle.Add(1)
	handles.Store(id, in)
	return C.uint64_t(id)
}

//export rn_register
func rn_register(h C.uint64_t, kind C.int32_t, id *C.char, idLen C.size_t, slot C.int32_t) (rc C.int32_t) {
	defer guard(func() { rc = -1 })
	in := lookup(h)
	k := route.Kind(kind)
	if in == nil || (k != route.Task && k != route.Event) {
		return -1
	}
	in.reg.Set(k, C.GoStringN(id, C.int(idLen)), int32(slot))
	return 0
}

//export rn_listen
func rn_listen(h C.uint64_t, fn C.rn_signal_fn, ctx unsafe.Pointer, errBuf *C.char, errCap C.size_t) (rc C.int32_t) {
	defer guard(func() { rc = -1; writeErr(errBuf, errCap, "EINTERNAL: internal error in listen") })
	in := lookup(h)
	if in == nil {
		writeErr(errBuf, errCap, "EINVAL: unknown server handle")
		return -1
	}
	in.sigMu.Lock()
	in.sigFn, in.sigCtx = fn, ctx
	in.sigMu.Unlock()
	if err := in.srv.Listen(); err != nil {
		writeErr(errBuf, errCap, err.Error())
		return -1
	}
	return C.int32_t(in.srv.Port())
}

//export rn_drain
func rn_drain(h C.uint64_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	in := lookup(h)
	if in == nil || buf == nil {
		return 0
	}
	written, need := in.bridge.Drain(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity)))
	if need > 0 {
		return -C.int64_t(need)
	}
	return C.int64_t(written)
}

//export rn_headers
func rn_headers(h C.uint64_t, id C.uint32_t, buf *C.uint8_t, capacity C.size_t) (n C.int64_t) {
	defer guard(func() { n = 0 })
	in := lookup(h)
	if in == nil || buf == nil {
		return 0
	}
	out, ok := in.bridge.AppendHeaders(nil, uint32(id))
	if !ok {
		return 0
	}
	if len(out) > int(capacity) {
		return -C.int64_t(len(out))
	}
	return C.int64_t(copy(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity)), out))
}

//export rn_complete
func rn_complete(h C.uint64_t, batch *C.uint8_t, length C.size_t) (rc C.int32_t) {
	defer guard(func() { rc = -1 })
	in := lookup(h)
	if in == nil || batch == nil {
		return -1
	}
	if err := in.bridge.Complete(unsafe.Slice((*byte)(unsafe.Pointer(batch)), int(length))); err != nil {
		return -1
	}
	return 0
}

//export rn_close
func rn_close(h C.uint64_t) {
	defer guard(nil)
	in := lookup(h)
	if in == nil {
		return
	}
	go func() {
		defer guard(nil)
		_ = in.srv.Close() // waits for every accepted request: JavaScript keeps answering
		in.bridge.Close()
		in.signal(C.RN_SIGNAL_CLOSED)
	}()
}

//export rn_detach
func rn_detach(h C.uint64_t) {
	defer guard(nil)
	in := lookup(h)
	if in == nil {
		return
	}
	in.sigMu.Lock() // waits for a signal in progress; none can start after this
	in.detached = true
	in.sigMu.Unlock()
	in.bridge.Abort(envelope.Unavailable, "Server is shutting down")
	go func() {
		defer guard(nil)
		_ = in.srv.Close()
		in.bridge.Close()
		handles.Delete(uint64(h))
	}()
}

//export rn_free
func rn_free(h C.uint64_t) {
	defer guard(nil)
	if v, ok := handles.LoadAndDelete(uint64(h)); ok {
		v.(*instance).bridge.Close() // its watcher goroutine runs from rn_create on
	}
}

// Indexes of the counters written by rn_stats.
const (
	statRequests = iota
	stat2xx
	stat4xx
	stat5xx
	statPanics
	statPending
	statConnections
	statInFlight
	statTimeouts
	statRejected
	statDisconnects
	statCount
)

//export rn_stats
func rn_stats(h C.uint64_t, out *C.uint64_t, n C.size_t) (written C.int32_t) {
	defer guard(func() { written = 0 })
	in := lookup(h)
	if in == nil || out == nil {
		return 0
	}
	st, bs := in.srv.Stats(), in.bridge.Stats()
	values := [statCount]uint64{
		statRequests:    st.Requests.Load(),
		stat2xx:         st.Status2xx.Load(),
		stat4xx:         st.Status4xx.Load(),
		stat5xx:         st.Status5xx.Load(),
		statPanics:      st.Panics.Load(),
		statPending:     uint64(in.bridge.Pending()),
		statConnections: uint64(in.srv.OpenConnections()),
		statInFlight:    uint64(max(st.InFlight.Load(), 0)),
		statTimeouts:    bs.Timeouts.Load(),
		statRejected:    bs.Rejected.Load(),
		statDisconnects: bs.Disconnects.Load(),
	}
	dst := unsafe.Slice((*uint64)(unsafe.Pointer(out)), int(n))
	return C.int32_t(copy(dst, values[:]))
}
