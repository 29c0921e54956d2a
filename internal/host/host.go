// Package host is the table of servers behind the addon's thirteen functions (abi.h in
// cmd/librunner), in plain Go types: handles, their lifecycle from create to free,
// reusePort groups, and the notifier that enforces when a server may signal.
//
// Two front ends serve it: cmd/librunner, the cgo library Node loads in its own
// process (glibc), and cmd/runner-server, a static program the addon starts where a Go
// library cannot be loaded (musl), reached over sockets (see internal/wire's Process
// constants). Both only convert arguments; every rule lives here, so the two behave
// alike.
//
// Rules that keep the host process alive (see docs/architecture.md):
//   - no function panics into its caller: each one recovers and returns the failure
//     value its doc comment names (the values abi.h documents);
//   - every piece of state is per server, reached through a handle;
//   - a server signals only between a successful Listen and SignalClosed or Detach,
//     enforced by its notifier (notifier.go).
//
// Threads: every function returns quickly and never waits on JavaScript; the caller
// calls them from the JavaScript thread that owns the handle. send (given to Listen)
// is called from Go goroutines.
package host

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

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

func lookup(h uint64) *instance {
	if v, ok := handles.Load(h); ok {
		return v.(*instance)
	}
	return nil
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

// InternalError is the error JSON a function returns when it recovered from a panic.
var InternalError = []byte(`{"kind":"Error","code":"EINTERNAL","message":"internal error in the Go library"}`)

var unknownHandle = []byte(`{"code":"EINVAL","errno":-22,"syscall":"listen","message":"unknown server handle"}`)

// guard turns a panic into a failure result instead of a crash of the host process.
func guard(onPanic func()) {
	if r := recover(); r != nil && onPanic != nil {
		onPanic()
	}
}

// Constants copies the wire constants (JSON, see wire.Constants) into buf. Returns the
// bytes written (0 after a panic), or -size when buf is too small.
func Constants(buf []byte) (n int64) {
	defer guard(func() { n = 0 })
	return copyOut(buf, wire.Constants())
}

// copyOut copies out into buf whole, the convention of every function here that fills a
// caller's buffer: the bytes written, or -size when buf is too small (nothing written).
func copyOut(buf, out []byte) int64 {
	if len(out) > len(buf) {
		return -int64(len(out))
	}
	return int64(copy(buf, out))
}

// CheckConfig checks an encoded TunnelConfig: nil when it is valid, otherwise the error
// as JSON {kind, field, message}.
func CheckConfig(cfg []byte) (errJSON []byte) {
	defer guard(func() { errJSON = InternalError })
	if _, err := config.Decode(cfg); err != nil {
		return errorJSON(err)
	}
	return nil
}

// Create makes a server from an encoded TunnelConfig and returns its handle, or 0 and
// the error JSON (as CheckConfig's).
func Create(cfg []byte) (h uint64, errJSON []byte) {
	defer guard(func() { h, errJSON = 0, InternalError })
	c, err := config.Decode(cfg)
	if err != nil {
		return 0, errorJSON(err)
	}
	id := lastHandle.Add(1)
	handles.Store(id, &instance{cfg: c})
	return id, nil
}

// Register applies a batch of registrations (see internal/wire). It returns 0, or -1 for
// an unknown handle or a corrupt batch.
func Register(h uint64, batch []byte) (rc int32) {
	defer guard(func() { rc = -1 })
	in := lookup(h)
	if in == nil {
		return -1
	}
	regs, ok := decodeRegistrations(batch)
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

// Listen binds, then starts serving; signals (wire.SignalWake, wire.SignalClosed) go to
// send until SignalClosed or Detach. send is kept only when this succeeds, and must not
// block for long: it is called with the notifier held (see notifier.signal). Returns
// the bound port, or -1 and the error as JSON {code, errno, syscall, message}.
func Listen(h uint64, send func(what int32)) (port int32, errJSON []byte) {
	defer guard(func() { port, errJSON = -1, InternalError })
	in := lookup(h)
	if in == nil {
		return -1, unknownHandle
	}
	p, err := listen(in, send)
	if err != nil {
		return -1, errorJSON(err)
	}
	return int32(p), nil
}

// listen binds (or joins a reusePort group) and returns the port. The notifier is armed
// before the group can hand this server a call, so no wake-up is lost; when listening
// fails it is detached for good, and send (holding the caller's pointer) is forgotten.
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

// Exchange applies the answers, then copies queued records into buf. mode says why (wake
// or flush, see internal/wire). Returns the bytes written (0: none queued, or not
// listening), -size when the next record needs a buffer of size bytes, or -1 when the
// answers were corrupt (a bug) or after a panic.
func Exchange(h uint64, mode int32, answers, buf []byte) (n int64) {
	defer guard(func() { n = -1 })
	in := lookup(h)
	if in == nil || in.port == nil {
		return 0
	}
	written, need, err := in.port.Exchange(answers, buf, int(mode))
	switch {
	case err != nil:
		return -1
	case need > 0:
		return -int64(need)
	}
	return int64(written)
}

// Headers copies the request headers of pending call id into buf as a JSON object.
// Returns the bytes written; 0 when the call is no longer pending (or after a panic);
// or -size when buf is too small.
func Headers(h uint64, id uint32, buf []byte) (n int64) {
	defer guard(func() { n = 0 })
	in := lookup(h)
	if in == nil || in.port == nil {
		return 0
	}
	out, ok := in.port.Headers(nil, id)
	if !ok {
		return 0
	}
	return copyOut(buf, out)
}

// Remote copies the client address of pending call id into buf, as "ip:port"
// ("[ip]:port" for IPv6). Returns the bytes written; 0 when the call is no longer
// pending or has no address (or after a panic); or -size when buf is too small.
func Remote(h uint64, id uint32, buf []byte) (n int64) {
	defer guard(func() { n = 0 })
	in := lookup(h)
	if in == nil || in.port == nil {
		return 0
	}
	var scratch [64]byte // "[ipv6%zone]:port" fits
	out, ok := in.port.Remote(scratch[:0], id)
	if !ok {
		return 0
	}
	return copyOut(buf, out)
}

// Close starts a graceful close in the background, answering 503 to what is still
// running after timeoutMs (negative: the configured closeTimeoutMs); SignalClosed
// follows when done. A no-op unless listening and not closing already.
func Close(h uint64, timeoutMs int64) {
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
		in.sig.close(wire.SignalClosed)         // the last signal; handles.Delete follows in Free
	}()
}

// CloseConnections closes the idle connections (idleOnly) or all of them, at once.
func CloseConnections(h uint64, idleOnly bool) {
	defer guard(nil)
	if in := lookup(h); in != nil && in.grp != nil {
		if idleOnly {
			in.grp.srv.CloseIdleConnections()
		} else {
			in.grp.srv.CloseAllConnections()
		}
	}
}

// Detach is for environment teardown: it returns once no signal is being or will ever
// be sent, answers pending calls 503, and releases the server in the background.
// Idempotent; a no-op for a released handle.
func Detach(h uint64) {
	defer guard(nil)
	in := lookup(h)
	if in == nil {
		return
	}
	in.sig.detach() // waits for a signal in progress; none can start after this
	if in.grp == nil {
		handles.Delete(h)
		return
	}
	if !in.closing.CompareAndSwap(false, true) {
		// Close is under way: its goroutine finishes the job; what is pending now can
		// no longer be answered by JavaScript.
		in.port.Shutdown(protocol.ShuttingDown)
		handles.Delete(h)
		return
	}
	go func() {
		defer guard(nil)
		in.grp.leave(in, config.Millis(in.cfg.CloseTimeoutMs), true)
		handles.Delete(h)
	}()
}

// Free releases a handle that is not listening (never listened, failed, or closed).
func Free(h uint64) {
	defer guard(nil)
	if v, ok := handles.LoadAndDelete(h); ok {
		v.(*instance).sig.detach()
	}
}

// Stats fills out with up to len(out) counters, in the order of wire.Stats, then the
// latency histogram; returns how many were written (0 for an unknown handle or after a
// panic).
func Stats(h uint64, out []uint64) (written int32) {
	defer guard(func() { written = 0 })
	in := lookup(h)
	if in == nil {
		return 0
	}
	return int32(copy(out, in.stats()))
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
