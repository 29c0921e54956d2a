package bridge

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Ownership of an answer stream's ring (issue 16, defect 1): a ring goes back to the
// pool only once nothing can still read it. The writer (fasthttp, in WriteTo) may be
// blocked in a write of a run of the ring to a client that half-closed and reads slowly;
// the disconnect watcher then aborts the stream, but it must not release the ring that
// the blocked write is still reading, or another stream's bytes would reach this client.

// tcpPair returns both ends of a loopback TCP connection with small socket buffers, so a
// write of a whole ring blocks while the client does not read.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	sc := <-accepted
	require.NotNil(t, sc)
	client, server = cc.(*net.TCPConn), sc.(*net.TCPConn)
	require.NoError(t, server.SetWriteBuffer(4096))
	require.NoError(t, client.SetReadBuffer(4096))
	t.Cleanup(func() { _ = client.Close(); _ = server.Close() })
	return server, client
}

// watchedStream registers a call whose answer is a stream on conn, as applyStream does,
// on a port whose watcher checks for disconnects.
func watchedStream(p *Port, conn net.Conn) *respStream {
	w := &waiter{done: make(chan struct{}, 1), kick: make(chan struct{}, 1)}
	p.mu.Lock()
	p.alloc(w)
	w.stream = newRespStream(p, w, conn, 0)
	p.mu.Unlock()
	p.load.Add(1)
	return w.stream
}

func TestHalfClosedSlowReaderKeepsItsRingWhileTheWriteIsBlocked(t *testing.T) {
	p := NewPort(func() {}, Options{WatchInterval: 5 * time.Millisecond}, &Stats{})
	defer p.Close()
	server, client := tcpPair(t)
	s := watchedStream(p, server)
	own := bytes.Repeat([]byte{'P'}, wire.StreamWindow)
	s.push(own)

	// fasthttp's goroutine: WriteTo, then Close, as writeBodyStream does. Its writer
	// holds on to the run until the test lets it go, after the socket write returned: a
	// writer still reading the run when the abort comes, whatever the scheduling.
	held := &holdingWriter{w: server, returned: make(chan error, 1), release: make(chan struct{})}
	wrote := make(chan error, 1)
	go func() {
		_, err := s.WriteTo(held)
		_ = s.Close()
		wrote <- err
	}()

	// The client reads a little: the write is under way, and blocked (a whole ring does
	// not fit the socket buffers).
	first := make([]byte, 1000)
	_, err := io.ReadFull(client, first)
	require.NoError(t, err)
	// It half-closes, as the attacker does, and stops reading: the watcher takes it for
	// gone and aborts the stream.
	require.NoError(t, client.CloseWrite())
	require.Eventually(t, func() bool { return p.stats.Disconnects.Load() == 1 }, 30*time.Second, time.Millisecond, "the watcher saw the half-close")

	s.mu.Lock()
	ring := s.ring
	s.mu.Unlock()
	require.NotNil(t, ring, "the ring went back to the pool while a write of it was blocked")
	// Another stream may take any ring from the pool now and fill it: never this one.
	other := newRespStream(p, &waiter{id: 99}, nil, 0)
	other.push(bytes.Repeat([]byte{'S'}, wire.StreamWindow))
	other.mu.Lock()
	assert.NotSame(t, ring, other.ring, "another stream got the ring a blocked write still reads")
	other.mu.Unlock()

	// The abort unblocks the socket write (the client does not read: only the abort can).
	select {
	case err := <-held.returned:
		assert.Error(t, err, "the blocked write was cut")
	case <-time.After(30 * time.Second):
		t.Fatal("the write stayed blocked after the abort") // a hang guard, not a timing bound
	}
	s.mu.Lock()
	assert.Same(t, ring, s.ring, "the ring is still the stream's while its writer holds a run")
	s.mu.Unlock()
	assert.Equal(t, 1, p.Pending(), "the slot is still the stream's until fasthttp closes it")
	close(held.release)
	assert.Error(t, <-wrote, "the cut stream ends with an error")
	s.mu.Lock()
	assert.Nil(t, s.ring, "once the writer returned and fasthttp closed the stream, the ring is released")
	s.mu.Unlock()
	assert.Equal(t, 0, p.Pending(), "the slot is freed")
	assert.Equal(t, int32(0), p.Load())
	assert.Equal(t, uint64(1), p.stats.Disconnects.Load(), "the disconnect is counted once")

	// Everything the client got is its own.
	_ = server.Close()
	rest, _ := io.ReadAll(client)
	got := append(first, rest...)
	assert.Equal(t, -1, bytes.IndexFunc(got, func(r rune) bool { return r != 'P' }), "the client got bytes of another stream")
}

// holdingWriter writes to w, reports what the write returned, then holds on (to the
// run it was given) until release is closed.
type holdingWriter struct {
	w        io.Writer
	returned chan error
	release  chan struct{}
}

func (h *holdingWriter) Write(b []byte) (int, error) {
	n, err := h.w.Write(b)
	select {
	case h.returned <- err:
	default:
	}
	<-h.release
	return n, err
}

// The taskTimeoutMs timer (Port.wait) against a stream's start (applyStream), issue 16's
// suspicion: applyStream marks the stream under p.mu, then records it on the call and
// wakes the caller after unlocking. Both orders of the two must end in one answer.

// pendingCall registers c on p as Invoke does, without waiting for it.
func pendingCall(p *Port, c *server.Call) *waiter {
	w := &waiter{done: make(chan struct{}, 1), kick: make(chan struct{}, 1), call: c, drained: true}
	p.mu.Lock()
	p.alloc(w)
	p.mu.Unlock()
	p.load.Add(1)
	return w
}

func TestTimeoutAfterTheStreamStartedLeavesTheStreamAlone(t *testing.T) {
	p := NewPort(func() {}, Options{Timeout: time.Hour}, &Stats{})
	c := new(server.Call)
	w := pendingCall(p, c)
	p.applyStream(wire.Answer{ID: w.id, Kind: wire.AnswerStreamStart, Status: 200})
	// The timer fires now, after applyStream unlocked and before the caller woke: what
	// wait does then.
	require.False(t, p.expire(w, w.id, wire.AbortTimeout), "a call whose stream started is answered: it cannot time out")
	<-w.done
	assert.Equal(t, server.Streaming, c.Outcome)
	assert.Equal(t, uint64(0), p.stats.Timeouts.Load())
	p.mu.Lock()
	assert.Empty(t, p.aborts, "JavaScript is not told its streaming call timed out")
	p.mu.Unlock()
	assert.Equal(t, 1, p.Pending(), "the slot is the stream's until fasthttp closes it")
	// The stream goes on and ends as streams do.
	p.applyStream(wire.Answer{ID: w.id, Kind: wire.AnswerChunk, Payload: []byte("late but whole")})
	p.applyStream(wire.Answer{ID: w.id, Kind: wire.AnswerEnd})
	var out writes
	_, err := c.Stream.(*respStream).WriteTo(&out)
	require.NoError(t, err)
	require.NoError(t, c.Stream.Close())
	assert.Equal(t, "late but whole", string(bytes.Join(out.got, nil)))
	assert.Equal(t, 0, p.Pending())
	assert.Equal(t, int32(0), p.Load())
}

func TestTimeoutBeforeTheStreamStartedWins(t *testing.T) {
	p := NewPort(func() {}, Options{Timeout: time.Hour}, &Stats{})
	c := new(server.Call)
	w := pendingCall(p, c)
	require.True(t, p.expire(w, w.id, wire.AbortTimeout))
	c.Fail(protocol.HandlerTimeout, "1") // what wait does after expire
	p.applyStream(wire.Answer{ID: w.id, Kind: wire.AnswerStreamStart, Status: 200})
	assert.Nil(t, w.stream, "a late stream start is dropped")
	assert.Equal(t, server.Failed, c.Outcome)
	assert.Equal(t, 0, len(w.done), "nobody is woken twice")
	assert.Equal(t, 0, p.Pending())
}

func TestClientGoneAfterTheStreamStartedLeavesTheStreamAlone(t *testing.T) {
	// The watcher's snapshot saw the call waiting (no stream yet); the stream starts
	// before it checks the socket: its expire must fail, as the timer's does.
	p := NewPort(func() {}, Options{}, &Stats{})
	c := new(server.Call)
	w := pendingCall(p, c)
	p.applyStream(wire.Answer{ID: w.id, Kind: wire.AnswerStreamStart, Status: 200})
	require.False(t, p.expire(w, w.id, wire.AbortDisconnect), "a call whose stream started is answered: the stream sees its client go")
	assert.Equal(t, server.Streaming, c.Outcome)
	assert.Equal(t, uint64(0), p.stats.Disconnects.Load(), "a stream's disconnect is the stream's to count")
	require.NoError(t, c.Stream.Close())
	assert.Equal(t, uint64(1), p.stats.Disconnects.Load(), "counted once, by the stream")
	assert.Equal(t, 0, p.Pending())
}
