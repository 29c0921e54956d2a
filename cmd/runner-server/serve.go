package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/bluelibs/runner-native/internal/host"
	"github.com/bluelibs/runner-native/internal/wire"
)

// protocolError is a request the parent should never have sent: a bug, reported on
// stderr, never a panic.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "protocol error: " + e.msg }

// session is one serve loop's state. Its buffers grow to the largest request and the
// largest capacity asked for, and are reused: an exchange allocates nothing here.
type session struct {
	in       *bufio.Reader
	out      io.Writer
	sig      *signaller
	head     [wire.ProcessCallHeader]byte
	req      []byte   // the current request's payload
	resp     []byte   // the response: ProcessResponseHeader bytes, then the payload
	counters []uint64 // OpStats' scratch
}

// serve answers the calls read from calls, in order, until calls reaches end of file or
// fails (the parent closed it or died): then it returns nil, at once, whatever the
// servers are doing. Signals of listening servers are written to signals; gone is
// called when that fails (the parent is gone). A request that breaks the protocol
// returns a *protocolError.
func serve(calls io.ReadWriter, signals io.Writer, gone func()) error {
	s := &session{
		in:  bufio.NewReaderSize(calls, 64<<10),
		out: calls,
		sig: &signaller{w: signals, gone: gone},
	}
	for {
		done, err := s.call()
		if done || err != nil {
			return err
		}
	}
}

// call reads one request, runs it and writes its response. done: the parent is gone.
func (s *session) call() (done bool, err error) {
	if _, err := io.ReadFull(s.in, s.head[:]); err != nil {
		return true, nil // EOF (or a reset) at or inside a request: the parent is gone
	}
	length := binary.LittleEndian.Uint32(s.head[:])
	if length < wire.ProcessCallHeader-wire.ProcessLengthSize || length > wire.ProcessMaxFrame {
		return true, &protocolError{fmt.Sprintf("request length %d", length)}
	}
	op := s.head[wire.ProcessCallAtOp]
	h := binary.LittleEndian.Uint64(s.head[wire.ProcessCallAtHandle:])
	arg := int64(binary.LittleEndian.Uint64(s.head[wire.ProcessCallAtArg:]))
	capacity := min(binary.LittleEndian.Uint64(s.head[wire.ProcessCallAtCap:]), wire.ProcessMaxFrame)
	payload := grow(&s.req, int(length)-(wire.ProcessCallHeader-wire.ProcessLengthSize))
	if _, err := io.ReadFull(s.in, payload); err != nil {
		return true, nil
	}
	result, n, err := s.run(op, h, arg, int(capacity), payload)
	if err != nil {
		return true, err
	}
	resp := grow(&s.resp, wire.ProcessResponseHeader+n)
	binary.LittleEndian.PutUint32(resp, uint32(wire.ProcessResponseHeader-wire.ProcessLengthSize+n))
	binary.LittleEndian.PutUint64(resp[wire.ProcessResponseAtResult:], uint64(result))
	if _, err := s.out.Write(resp); err != nil {
		return true, nil // the parent is gone
	}
	return false, nil
}

// run makes one call and returns its result and how many payload bytes it wrote at
// s.resp[ProcessResponseHeader:]. capacity is in bytes (OpStats: in counters).
func (s *session) run(op byte, h uint64, arg int64, capacity int, in []byte) (result int64, n int, err error) {
	switch op {
	case wire.OpConstants:
		return written(host.Constants(s.output(capacity)))
	case wire.OpCheckConfig:
		if errJSON := host.CheckConfig(in); errJSON != nil {
			n = s.errorOut(capacity, errJSON)
		}
		return int64(n), n, nil
	case wire.OpCreate:
		id, errJSON := host.Create(in)
		if id == 0 {
			n = s.errorOut(capacity, errJSON)
		}
		return int64(id), n, nil
	case wire.OpRegister:
		return int64(host.Register(h, in)), 0, nil
	case wire.OpListen:
		port, errJSON := host.Listen(h, s.sig.sender(h))
		if port < 0 {
			n = s.errorOut(capacity, errJSON)
		}
		return int64(port), n, nil
	case wire.OpExchange:
		return written(host.Exchange(h, int32(arg), in, s.output(capacity)))
	case wire.OpHeaders:
		return written(host.Headers(h, uint32(arg), s.output(capacity)))
	case wire.OpRemote:
		return written(host.Remote(h, uint32(arg), s.output(capacity)))
	case wire.OpClose:
		host.Close(h, arg)
	case wire.OpCloseConnections:
		host.CloseConnections(h, arg != 0)
	case wire.OpDetach:
		host.Detach(h) // returns once no signal for h is being or will be written
	case wire.OpFree:
		host.Free(h)
	case wire.OpStats:
		counters := grow(&s.counters, min(capacity, wire.ProcessMaxFrame/8))
		k := int(host.Stats(h, counters))
		out := s.output(8 * k)
		for i, v := range counters[:k] {
			binary.LittleEndian.PutUint64(out[8*i:], v)
		}
		return int64(k), 8 * k, nil
	default:
		return 0, 0, &protocolError{fmt.Sprintf("unknown op %d", op)}
	}
	return 0, 0, nil
}

// output is the room for a response payload of up to capacity bytes.
func (s *session) output(capacity int) []byte {
	return grow(&s.resp, wire.ProcessResponseHeader+capacity)[wire.ProcessResponseHeader:]
}

// errorOut writes an error JSON as rn_* functions write it into a C buffer of capacity
// bytes: cut to capacity-1 bytes (the caller adds the NUL), nothing when capacity is 0.
// It returns the bytes written.
func (s *session) errorOut(capacity int, msg []byte) int {
	if capacity == 0 {
		return 0
	}
	return copy(s.output(capacity-1), msg)
}

// written splits an exchange-like result: the payload is result bytes when positive.
func written(result int64) (int64, int, error) {
	return result, int(max(result, 0)), nil
}

// grow returns (*buf)[:n], growing *buf when it is shorter; what it held is not kept.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// signaller writes signal frames to the parent, one whole frame at a time: servers
// signal from their own goroutines.
type signaller struct {
	mu    sync.Mutex
	w     io.Writer
	gone  func()
	frame [wire.ProcessSignalFrame]byte
}

// sender is what host.Listen calls for h's signals.
func (s *signaller) sender(h uint64) func(what int32) {
	return func(what int32) { s.send(h, what) }
}

func (s *signaller) send(h uint64, what int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	binary.LittleEndian.PutUint64(s.frame[wire.ProcessSignalAtHandle:], h)
	binary.LittleEndian.PutUint32(s.frame[wire.ProcessSignalAtWhat:], uint32(what))
	if _, err := s.w.Write(s.frame[:]); err != nil {
		s.gone()
	}
}
