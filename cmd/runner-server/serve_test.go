//go:build unix

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/host"
	"github.com/bluelibs/runner-native/internal/latency"
	"github.com/bluelibs/runner-native/internal/testhttp"
	"github.com/bluelibs/runner-native/internal/wire"
)

// socketpair returns the two ends of a connected SOCK_STREAM Unix socket: the child's
// as a file (as main gets it), the parent's as a connection. Close-on-exec, so that a
// program another test starts does not hold an end open.
func socketpair(t *testing.T) (*os.File, net.Conn) {
	t.Helper()
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	require.NoError(t, err)
	f := os.NewFile(uintptr(fds[1]), "parent")
	parent, err := net.FileConn(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return os.NewFile(uintptr(fds[0]), "child"), parent
}

// parent plays the addon: it drives a serve loop through the protocol.
type parent struct {
	t        *testing.T
	calls    net.Conn
	signals  net.Conn
	done     chan error    // serve's result
	gone     chan struct{} // closed when serve reports a failed signal write
	goneOnce sync.Once
}

// startServe runs serve in-process on two socketpairs, as main runs it on fds 3 and 4.
func startServe(t *testing.T) *parent {
	childCalls, calls := socketpair(t)
	childSignals, signals := socketpair(t)
	p := &parent{t: t, calls: calls, signals: signals, done: make(chan error, 1), gone: make(chan struct{})}
	go func() {
		err := serve(childCalls, childSignals, func() { p.goneOnce.Do(func() { close(p.gone) }) })
		_ = childCalls.Close()
		_ = childSignals.Close()
		p.done <- err
	}()
	t.Cleanup(func() {
		_ = calls.Close()
		<-p.done
		_ = signals.Close()
	})
	return p
}

// send writes one request.
func (p *parent) send(op byte, h uint64, arg int64, capacity uint64, payload []byte) {
	p.t.Helper()
	req := make([]byte, wire.ProcessCallHeader, wire.ProcessCallHeader+len(payload))
	binary.LittleEndian.PutUint32(req, uint32(wire.ProcessCallHeader-wire.ProcessLengthSize+len(payload)))
	req[wire.ProcessCallAtOp] = op
	binary.LittleEndian.PutUint64(req[wire.ProcessCallAtHandle:], h)
	binary.LittleEndian.PutUint64(req[wire.ProcessCallAtArg:], uint64(arg))
	binary.LittleEndian.PutUint64(req[wire.ProcessCallAtCap:], capacity)
	_, err := p.calls.Write(append(req, payload...))
	require.NoError(p.t, err)
}

// call makes one call and returns its result and payload.
func (p *parent) call(op byte, h uint64, arg int64, capacity uint64, payload []byte) (int64, []byte) {
	p.t.Helper()
	p.send(op, h, arg, capacity, payload)
	var head [wire.ProcessResponseHeader]byte
	_, err := io.ReadFull(p.calls, head[:])
	require.NoError(p.t, err)
	n := int(binary.LittleEndian.Uint32(head[:])) - (wire.ProcessResponseHeader - wire.ProcessLengthSize)
	require.GreaterOrEqual(p.t, n, 0)
	if op == wire.OpStats {
		capacity *= 8 // counters
	}
	require.LessOrEqual(p.t, uint64(n), capacity, "a payload never exceeds the capacity asked for")
	out := make([]byte, n)
	_, err = io.ReadFull(p.calls, out)
	require.NoError(p.t, err)
	return int64(binary.LittleEndian.Uint64(head[wire.ProcessResponseAtResult:])), out
}

// signal reads the next signal frame.
func (p *parent) signal() (h uint64, what int32) {
	p.t.Helper()
	var frame [wire.ProcessSignalFrame]byte
	_, err := io.ReadFull(p.signals, frame[:])
	require.NoError(p.t, err)
	assert.Zero(p.t, binary.LittleEndian.Uint32(frame[12:]))
	return binary.LittleEndian.Uint64(frame[wire.ProcessSignalAtHandle:]), int32(binary.LittleEndian.Uint32(frame[wire.ProcessSignalAtWhat:]))
}

// waitSignal reads signal frames until (h, what), and returns the frames it skipped.
func (p *parent) waitSignal(h uint64, what int32) (skipped [][2]uint64) {
	p.t.Helper()
	for {
		gotH, gotWhat := p.signal()
		if gotH == h && gotWhat == what {
			return skipped
		}
		skipped = append(skipped, [2]uint64{gotH, uint64(gotWhat)})
	}
}

// listening creates a server on 127.0.0.1 with task "ping" in slot 0 and returns its
// handle and base URL.
func (p *parent) listening() (uint64, string) {
	p.t.Helper()
	r, errJSON := p.call(wire.OpCreate, 0, 0, 1024, []byte(`{"port":0,"host":"127.0.0.1"}`))
	require.NotZero(p.t, r, string(errJSON))
	h := uint64(r)
	batch := []byte{wire.KindTask, wire.RegListed, 4, 0, 0, 0, 0, 0, 'p', 'i', 'n', 'g'}
	r, _ = p.call(wire.OpRegister, h, 0, 0, batch)
	require.Zero(p.t, r)
	port, errJSON := p.call(wire.OpListen, h, 0, 1024, nil)
	require.Greater(p.t, port, int64(0), string(errJSON))
	return h, fmt.Sprintf("http://127.0.0.1:%d", port)
}

// callRecord is the part of a Go → JavaScript record these tests read.
type callRecord struct {
	id    uint32
	kind  byte
	slot  uint32
	input string
}

func parseRecord(t *testing.T, rec []byte) callRecord {
	t.Helper()
	require.GreaterOrEqual(t, len(rec), wire.CallHeader)
	in := int(binary.LittleEndian.Uint32(rec[wire.CallAtInputLen:]))
	require.GreaterOrEqual(t, len(rec), wire.CallHeader+in)
	return callRecord{
		id: binary.LittleEndian.Uint32(rec[wire.CallAtID:]), kind: rec[wire.CallAtKind],
		slot: binary.LittleEndian.Uint32(rec[wire.CallAtSlot:]), input: string(rec[wire.CallHeader : wire.CallHeader+in]),
	}
}

// answer encodes a result answer (AnswerHeader, then the encoded value).
func answer(id uint32, value string) []byte {
	rec := make([]byte, wire.AnswerHeader, wire.AnswerHeader+len(value))
	binary.LittleEndian.PutUint32(rec[wire.AnswerAtID:], id)
	rec[wire.AnswerAtKind] = wire.AnswerResult
	binary.LittleEndian.PutUint32(rec[wire.AnswerAtLen:], uint32(len(value)))
	return append(rec, value...)
}

// takeCall waits for h's wake-up and takes the one queued call, as the addon does
// when its buffer is too small: a first exchange learns the size (and, as the call is
// still queued, sends a new wake-up), the second takes it.
func (p *parent) takeCall(h uint64) callRecord {
	p.t.Helper()
	p.waitSignal(h, wire.SignalWake)
	size, out := p.call(wire.OpExchange, h, wire.ExchangeWake, 8, nil)
	require.Less(p.t, size, int64(-8), "the record does not fit 8 bytes: -size")
	assert.Empty(p.t, out)
	n, out := p.call(wire.OpExchange, h, wire.ExchangeFlush, uint64(-size), nil)
	require.Equal(p.t, -size, n)
	require.Len(p.t, out, int(n))
	return parseRecord(p.t, out)
}

func TestConstantsOverTheProtocol(t *testing.T) {
	p := startServe(t)
	want := wire.Constants()
	n, out := p.call(wire.OpConstants, 0, 0, 1<<20, nil)
	assert.Equal(t, int64(len(want)), n)
	assert.Equal(t, want, out)
	n, out = p.call(wire.OpConstants, 0, 0, 10, nil)
	assert.Equal(t, -int64(len(want)), n, "too small a buffer: -size")
	assert.Empty(t, out)
}

func TestConfigErrorsAreCutAsInACBuffer(t *testing.T) {
	p := startServe(t)
	n, out := p.call(wire.OpCheckConfig, 0, 0, 1024, []byte(`{"port":"nope"}`))
	require.Equal(t, int64(len(out)), n)
	var fe map[string]string
	require.NoError(t, json.Unmarshal(out, &fe), string(out))
	assert.Equal(t, "port", fe["field"])
	assert.NotEmpty(t, fe["message"])
	n, cut := p.call(wire.OpCheckConfig, 0, 0, 10, []byte(`{"port":"nope"}`))
	assert.Equal(t, int64(9), n, "cap-1 bytes: room for the NUL")
	assert.Equal(t, out[:9], cut)
	n, out = p.call(wire.OpCheckConfig, 0, 0, 1024, []byte(`{"port":0}`))
	assert.Zero(t, n, "valid")
	assert.Empty(t, out)

	h, out := p.call(wire.OpCreate, 0, 0, 1024, []byte(`{"port":"nope"}`))
	assert.Zero(t, h)
	assert.Contains(t, string(out), `"field":"port"`)
	rc, out := p.call(wire.OpListen, 1<<60, 0, 1024, nil)
	assert.Equal(t, int64(-1), rc)
	assert.Contains(t, string(out), "unknown server handle")
	rc, _ = p.call(wire.OpRegister, 1<<60, 0, 0, nil)
	assert.Equal(t, int64(-1), rc)
}

// The whole life of a server through the protocol: a real HTTP call wakes the parent,
// which exchanges, answers, reads the counters and closes.
func TestTaskCallOverTheProtocol(t *testing.T) {
	p := startServe(t)
	h, base := p.listening()
	res := testhttp.PostAsync(base+"/__runner/task/ping", `{"input":"x"}`)
	rec := p.takeCall(h)
	assert.Equal(t, callRecord{id: rec.id, kind: wire.KindTask, slot: 0, input: `"x"`}, rec)

	n, headers := p.call(wire.OpHeaders, h, int64(rec.id), 4096, nil)
	require.Positive(t, n)
	assert.Contains(t, string(headers), "application/json")
	n, out := p.call(wire.OpHeaders, h, int64(rec.id), 2, nil)
	assert.Equal(t, -int64(len(headers)), n)
	assert.Empty(t, out)
	n, remote := p.call(wire.OpRemote, h, int64(rec.id), 64, nil)
	require.Positive(t, n)
	assert.True(t, strings.HasPrefix(string(remote), "127.0.0.1:"), string(remote))

	n, _ = p.call(wire.OpExchange, h, wire.ExchangeFlush, 1<<16, answer(rec.id, `"pong"`))
	assert.GreaterOrEqual(t, n, int64(0))
	got := <-res
	require.NoError(t, got.Err)
	assert.Equal(t, 200, got.Status)
	assert.Equal(t, `{"ok":true,"result":"pong"}`, got.Body)

	size := len(wire.Stats) + 1 + latency.Buckets
	var counters []uint64
	for counters == nil || counters[1] == 0 { // status2xx is counted once the answer is written
		n, out := p.call(wire.OpStats, h, 0, uint64(size), nil)
		require.Equal(t, int64(size), n)
		require.Len(t, out, 8*size)
		counters = make([]uint64, size)
		for i := range counters {
			counters[i] = binary.LittleEndian.Uint64(out[8*i:])
		}
	}
	assert.Equal(t, "status2xx", wire.Stats[1])
	assert.EqualValues(t, 1, counters[0], "requests")
	n, out = p.call(wire.OpStats, h, 0, 3, nil)
	assert.Equal(t, int64(3), n, "only what the caller has room for")
	assert.Len(t, out, 24)

	n, _ = p.call(wire.OpCloseConnections, h, 0, 1, nil)
	assert.Zero(t, n)
	n, _ = p.call(wire.OpClose, h, -1, 0, nil)
	assert.Zero(t, n)
	p.waitSignal(h, wire.SignalClosed)
	n, _ = p.call(wire.OpFree, h, 0, 0, nil)
	assert.Zero(t, n)
	n, _ = p.call(wire.OpStats, h, 0, uint64(size), nil)
	assert.Zero(t, n, "a freed handle is unknown")
}

// Detach's response is written once no signal for the handle can follow it. Here a
// graceful close is under way when the environment goes away: the detach ends it (the
// pending call is answered 503), and the close's CLOSED signal, which would follow the
// response, must never be written.
func TestNoSignalAfterDetach(t *testing.T) {
	p := startServe(t)
	h, base := p.listening()
	res := testhttp.PostAsync(base+"/__runner/task/ping", `{}`)
	p.waitSignal(h, wire.SignalWake)
	n, out := p.call(wire.OpExchange, h, wire.ExchangeWake, 1<<16, nil)
	require.Positive(t, n)
	require.Equal(t, wire.KindTask, int(parseRecord(t, out).kind)) // taken, the wake-up consumed: no signal is owed
	p.call(wire.OpClose, h, 600000, 0, nil)                        // waits for the pending call
	n, _ = p.call(wire.OpDetach, h, 0, 0, nil)
	assert.Zero(t, n)
	got := <-res
	require.NoError(t, got.Err)
	assert.Equal(t, 503, got.Status, "the pending call is answered by the detach")

	// Another server's CLOSED marks a later point: nothing for h came before it.
	h2, _ := p.listening()
	p.call(wire.OpClose, h2, 0, 0, nil)
	for _, f := range p.waitSignal(h2, wire.SignalClosed) {
		assert.NotEqual(t, h, f[0], "signal %d for a detached server", f[1])
	}
	p.call(wire.OpFree, h2, 0, 0, nil)
}

// The parent closing its end (or dying) ends the loop at once, servers listening or not.
func TestEndOfFileEndsTheLoop(t *testing.T) {
	p := startServe(t)
	h, _ := p.listening()
	defer host.Detach(h) // the loop leaves it listening, as the process would at exit
	require.NoError(t, p.calls.Close())
	assert.NoError(t, <-p.done)
	p.done <- nil // for the cleanup
}

// A parent that stops reading signals is gone: serve says so instead of blocking.
func TestFailedSignalWriteMeansTheParentIsGone(t *testing.T) {
	p := startServe(t)
	h, _ := p.listening()
	require.NoError(t, p.signals.Close())
	p.call(wire.OpClose, h, 0, 0, nil) // its CLOSED signal cannot be written
	<-p.gone
	p.call(wire.OpFree, h, 0, 0, nil)
}

func TestProtocolErrorsStopTheLoop(t *testing.T) {
	for name, req := range map[string]func(p *parent){
		"unknown op": func(p *parent) { p.send(99, 0, 0, 0, nil) },
		"short frame": func(p *parent) {
			_, err := p.calls.Write([]byte{5, 0, 0, 0, wire.OpConstants, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
			require.NoError(p.t, err)
		},
		"huge frame": func(p *parent) {
			frame := make([]byte, wire.ProcessCallHeader)
			binary.LittleEndian.PutUint32(frame, wire.ProcessMaxFrame+1)
			_, err := p.calls.Write(frame)
			require.NoError(p.t, err)
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := startServe(t)
			req(p)
			err := <-p.done
			var pe *protocolError
			assert.ErrorAs(t, err, &pe)
			p.done <- nil // for the cleanup
		})
	}
}
