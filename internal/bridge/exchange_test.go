package bridge_test

import (
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/multipart"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// The edge cases of the hand-off, driven without HTTP: JavaScript threads played by
// goroutines that exchange only when woken, as the addon makes them.

// jsThread answers every call it takes with its input, exchanging only on wake-ups
// (and again at once while it has answers to hand back), until stop is closed.
type jsThread struct {
	port  *bridge.Port
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	taken atomic.Int64
}

func startJS(p **bridge.Port, add func(wake func()) *bridge.Port) *jsThread {
	js := &jsThread{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	js.port = add(func() {
		select {
		case js.wake <- struct{}{}:
		default:
		}
	})
	*p = js.port
	go js.loop()
	return js
}

func (js *jsThread) loop() {
	defer close(js.done)
	buf := make([]byte, 1<<16)
	var answers []byte
	for {
		select {
		case <-js.stop:
			return
		case <-js.wake:
		}
		mode := wire.ExchangeWake
		for {
			n, need, err := js.port.Exchange(answers, buf, mode)
			if err != nil {
				panic(err)
			}
			answers, mode = answers[:0], wire.ExchangeFlush
			if need > 0 {
				buf = make([]byte, need)
				continue
			}
			for _, rec := range parse(buf[:n]) {
				if rec.kind != wire.KindTask {
					continue
				}
				js.taken.Add(1)
				a := make([]byte, wire.AnswerHeader)
				binary.LittleEndian.PutUint32(a, rec.id)
				a[4] = wire.AnswerResult
				binary.LittleEndian.PutUint32(a[8:], uint32(len(rec.input)))
				answers = append(append(answers, a...), rec.input...)
			}
			if n == 0 && len(answers) == 0 {
				break
			}
		}
	}
}

func (js *jsThread) halt() {
	close(js.stop)
	<-js.done
}

func call(entry *registry.Entry, input string) *server.Call {
	return &server.Call{Op: server.OpTask, Entry: entry, HasInput: true, Input: []byte(input)}
}

// Calls keep arriving while the thread is in the middle of exchanges: each is answered,
// none waits for a wake-up that never comes.
func TestCallsArrivingDuringExchangesAreNeverStranded(t *testing.T) {
	pool := bridge.NewPool()
	var port *bridge.Port
	js := startJS(&port, func(wake func()) *bridge.Port { p, _ := pool.Add(wake, bridge.Options{}); return p })
	defer js.halt()
	entry := &registry.Entry{Targets: []registry.Target{{Port: 0, Slot: 0}}}
	const callers, each = 16, 500
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				c := call(entry, `"x"`)
				pool.Invoke(c)
				if c.Outcome != server.Result || string(c.Result) != `"x"` {
					wrong.Add(1)
				}
			}
		}(g)
	}
	wg.Wait()
	assert.Zero(t, wrong.Load())
	assert.EqualValues(t, callers*each, js.taken.Load())
	assert.Zero(t, port.Pending())
}

// close() reaches its deadline while the thread exchanges: every call gets exactly one
// answer (its result, or 503), and the thread is told about the calls it had.
func TestDeadlineDuringExchanges(t *testing.T) {
	pool := bridge.NewPool()
	var port *bridge.Port
	js := startJS(&port, func(wake func()) *bridge.Port { p, _ := pool.Add(wake, bridge.Options{}); return p })
	defer js.halt()
	entry := &registry.Entry{Targets: []registry.Target{{Port: 0, Slot: 0}}}
	var wg sync.WaitGroup
	outcomes := make([]*server.Call, 2000)
	for i := range outcomes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			outcomes[i] = call(entry, `1`)
			pool.Invoke(outcomes[i])
		}(i)
		if i == 1000 {
			pool.Deadline()
		}
	}
	wg.Wait()
	results, closed := 0, 0
	for _, c := range outcomes {
		switch {
		case c.Outcome == server.Result:
			results++
		case c.Outcome == server.Failed && c.Failure == protocol.ClosedBeforeAnswer:
			closed++
		default:
			t.Errorf("unexpected outcome %v %v", c.Outcome, c.Failure)
		}
	}
	assert.Equal(t, len(outcomes), results+closed, "one answer each")
	assert.Greater(t, closed, 0, "calls after the deadline are refused")
	assert.Zero(t, port.Pending())
}

// A thread leaves the pool while calls flow: the calls it had not taken go to the other
// thread; the ones it took are still answered by it; nothing is lost.
func TestThreadLeavingDuringExchanges(t *testing.T) {
	pool := bridge.NewPool()
	var a, b *bridge.Port
	jsA := startJS(&a, func(wake func()) *bridge.Port { p, _ := pool.Add(wake, bridge.Options{}); return p })
	jsB := startJS(&b, func(wake func()) *bridge.Port { p, _ := pool.Add(wake, bridge.Options{}); return p })
	defer jsB.halt()
	entry := &registry.Entry{Targets: []registry.Target{{Port: 0, Slot: 0}, {Port: 1, Slot: 0}}}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	// Half the callers pause after 100 calls until the thread has left, so that calls
	// certainly remain for the other thread (under load the rest may all be done by
	// then); the other half keep calling while it leaves.
	var paused sync.WaitGroup
	left := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		if g%2 == 0 {
			paused.Add(1)
		}
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				if i == 100 && g%2 == 0 {
					paused.Done()
					<-left
				}
				c := call(entry, `2`)
				pool.Invoke(c)
				if c.Outcome != server.Result {
					wrong.Add(1)
				}
			}
		}(g)
	}
	paused.Wait()
	a.Leave() // its thread keeps answering what it took
	pool.Remove(0)
	close(left)
	wg.Wait()
	jsA.halt()
	assert.Zero(t, wrong.Load(), "every call answered by one thread or the other")
	assert.EqualValues(t, 8*500, jsA.taken.Load()+jsB.taken.Load())
	require.Zero(t, a.Pending())
	assert.Zero(t, b.Pending())
	assert.GreaterOrEqual(t, jsB.taken.Load(), int64(4*400), "the paused callers' later calls went to the other thread")
}

// A thread leaves the pool while a multipart call waits in its queue, untaken: the form's
// parts were already being read for that thread, so the call is answered 503 instead of
// starting over on another thread with a half-read body (which would lose a file).
func TestThreadLeavingWithAQueuedFormFailsIt(t *testing.T) {
	pool := bridge.NewPool()
	silent, _ := pool.Add(func() {}, bridge.Options{}) // its thread never takes calls
	var other *bridge.Port
	js := startJS(&other, func(wake func()) *bridge.Port { p, _ := pool.Add(wake, bridge.Options{}); return p })
	defer js.halt()
	entry := &registry.Entry{Targets: []registry.Target{{Port: 0, Slot: 0}, {Port: 1, Slot: 0}}}
	body := "--B\r\nContent-Disposition: form-data; name=\"file:f\"; filename=\"f\"\r\n\r\n" + strings.Repeat("x", 200_000) + "\r\n--B--\r\n"
	needle, _ := multipart.Needle([]byte("multipart/form-data; boundary=B"))
	src := strings.NewReader(body)
	c := &server.Call{Op: server.OpTask, Entry: entry, HasInput: true, Input: []byte(`{}`), Body: src,
		Parts: multipart.NewReader(src, needle, multipart.DefaultLimits)}
	done := make(chan struct{})
	go func() { pool.Invoke(c); close(done) }()
	for silent.Pending() != 1 { // queued on the first thread (the least loaded, by index)
		time.Sleep(time.Millisecond)
	}
	silent.Leave()
	pool.Remove(0)
	<-done
	assert.Equal(t, server.Failed, c.Outcome)
	assert.Equal(t, protocol.ShuttingDown, c.Failure, "503, not a restart elsewhere")
	assert.Zero(t, js.taken.Load(), "the other thread never saw it")
	assert.Zero(t, silent.Pending())
}
