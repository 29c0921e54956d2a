package bridge_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"encoding/json"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
)

// fakeJS plays the JavaScript thread: on each wake-up it drains every queued call and
// answers it with answer(slot, input), as index.js does.
type fakeJS struct {
	b       *bridge.Bridge
	aborts  chan [2]uint32 // (id, reason) of every abort record drained
	current uint32         // id of the call being answered
	wake    chan struct{}
	wakeups atomic.Int64
	buf     []byte
	answer  func(slot uint32, input []byte) (status byte, data []byte)
}

func newFakeJS(bufSize int, answer func(uint32, []byte) (byte, []byte)) *fakeJS {
	return newFakeJSWith(bufSize, bridge.Options{}, answer)
}

func newFakeJSWith(bufSize int, opts bridge.Options, answer func(uint32, []byte) (byte, []byte)) *fakeJS {
	f := &fakeJS{wake: make(chan struct{}, 1), buf: make([]byte, bufSize), answer: answer, aborts: make(chan [2]uint32, 64)}
	f.b = bridge.New(func() {
		f.wakeups.Add(1)
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}, opts)
	go f.loop()
	return f
}

func (f *fakeJS) loop() {
	for range f.wake {
		var out []byte
		for {
			n, need := f.b.Drain(f.buf)
			if need > 0 {
				f.buf = make([]byte, need)
				continue
			}
			if n == 0 {
				break
			}
			for rec := f.buf[:n]; len(rec) > 0; {
				id := binary.LittleEndian.Uint32(rec[0:])
				slot := binary.LittleEndian.Uint32(rec[4:])
				size := binary.LittleEndian.Uint32(rec[12:])
				if rec[8] == bridge.KindAbort {
					f.aborts <- [2]uint32{id, uint32(rec[9])}
					rec = rec[bridge.DrainHeader:]
					continue
				}
				var input []byte
				if rec[9]&1 == 1 {
					input = rec[bridge.DrainHeader : bridge.DrainHeader+size]
				}
				f.current = id
				status, data := f.answer(slot, input)
				rec = rec[bridge.DrainHeader+size:]
				if status == noAnswer {
					continue
				}
				out = binary.LittleEndian.AppendUint32(out, id)
				out = append(out, status, 0, 0, 0)
				out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
				out = append(out, data...)
			}
		}
		if err := f.b.Complete(out); err != nil {
			panic(err)
		}
	}
}

// noAnswer, returned by an answer function, leaves the call running, as an async
// handler that has not settled yet would.
const noAnswer = 255

// nextAbort waits (boundedly) for the next abort record JavaScript would drain.
func nextAbort(t *testing.T, f *fakeJS) [2]uint32 {
	t.Helper()
	select {
	case a := <-f.aborts:
		return a
	case <-time.After(3 * time.Second):
		t.Fatal("no abort record was drained")
		return [2]uint32{}
	}
}

func serve(t *testing.T, f *fakeJS) string {
	return serveWith(t, f, config.Config{})
}

func serveWith(t *testing.T, f *fakeJS, cfg config.Config) string {
	t.Helper()
	reg := new(registry.Registry)
	reg.Set(route.Task, "echo", 0)
	reg.Set(route.Task, "fail", 1)
	reg.Set(route.Event, "notify", 2)
	cfg.Host = "127.0.0.1"
	srv, err := server.New(cfg, reg, f.b)
	require.NoError(t, err)
	require.NoError(t, srv.Listen())
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf("http://127.0.0.1:%d/__runner", srv.Port())
}

func echoJS(slot uint32, input []byte) (byte, []byte) {
	switch slot {
	case 0:
		if input == nil {
			return bridge.StatusNoResult, nil
		}
		return bridge.StatusResult, input
	case 1:
		return bridge.StatusError, []byte("Operation failed: nope")
	}
	return bridge.StatusNoResult, nil
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func TestRoundTrip(t *testing.T) {
	base := serve(t, newFakeJS(64<<10, echoJS))
	status, body := post(t, base+"/task/echo", `{"input":{"a":[1,2,"😀"]}}`)
	assert.Equal(t, 200, status)
	assert.Equal(t, `{"ok":true,"result":{"a":[1,2,"😀"]}}`, body)
	_, body = post(t, base+"/task/echo", `{}`)
	assert.Equal(t, `{"ok":true}`, body)
	status, body = post(t, base+"/task/fail", `{}`)
	assert.Equal(t, 500, status)
	assert.Equal(t, `{"ok":false,"error":{"code":500,"message":"Operation failed: nope","codeName":"INTERNAL_ERROR"}}`, body)
	_, body = post(t, base+"/event/notify", `{"payload":1}`)
	assert.Equal(t, `{"ok":true}`, body)
}

func TestManyConcurrentCallsBatchAndMatch(t *testing.T) {
	f := newFakeJS(64<<10, echoJS)
	base := serve(t, f)
	const n = 500
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, body := post(t, base+"/task/echo", fmt.Sprintf(`{"input":%d}`, i))
			assert.Equal(t, fmt.Sprintf(`{"ok":true,"result":%d}`, i), body)
		}(i)
	}
	wg.Wait()
	assert.Less(t, f.wakeups.Load(), int64(n), "wake-ups are shared by batched calls")
}

func TestInputLargerThanTheDrainBufferGrowsIt(t *testing.T) {
	base := serve(t, newFakeJS(64, echoJS))
	big := `"` + strings.Repeat("x", 100_000) + `"`
	_, body := post(t, base+"/task/echo", `{"input":`+big+`}`)
	assert.Equal(t, `{"ok":true,"result":`+big+`}`, body)
}

func TestAbortAnswersPendingAndLaterCalls(t *testing.T) {
	release := make(chan struct{})
	f := newFakeJS(1024, func(slot uint32, input []byte) (byte, []byte) {
		<-release // JavaScript never answers until the test lets it
		return bridge.StatusResult, []byte("1")
	})
	base := serve(t, f)
	done := make(chan string)
	go func() { _, body := post(t, base+"/task/echo", `{"input":1}`); done <- body }()
	for f.b.Pending() == 0 {
		runtime.Gosched()
	}
	f.b.Abort(envelope.Unavailable, "Server is shutting down")
	want := `{"ok":false,"error":{"code":503,"message":"Server is shutting down","codeName":"SERVICE_UNAVAILABLE"}}`
	assert.Equal(t, want, <-done)
	status, body := post(t, base+"/task/echo", `{"input":2}`)
	assert.Equal(t, 503, status)
	assert.Equal(t, want, body)
	close(release) // the late answer is dropped without harm
}

func TestCompleteRejectsCorruptBatches(t *testing.T) {
	b := bridge.New(func() {}, bridge.Options{})
	assert.ErrorIs(t, b.Complete([]byte{1, 2, 3}), bridge.ErrCorrupt)
	rec := binary.LittleEndian.AppendUint32(nil, 7)
	rec = append(rec, 0, 0, 0, 0)
	rec = binary.LittleEndian.AppendUint32(rec, 1000) // longer than the batch
	assert.ErrorIs(t, b.Complete(rec), bridge.ErrCorrupt)
	rec = binary.LittleEndian.AppendUint32(nil, 7) // unknown id: ignored
	rec = append(rec, 0, 0, 0, 0, 1, 0, 0, 0, '1')
	assert.NoError(t, b.Complete(rec))
}

func TestTimeoutAnswers504AndDropsTheLateAnswer(t *testing.T) {
	var slowID uint32
	f := newFakeJSWith(1024, bridge.Options{Timeout: 50 * time.Millisecond}, nil)
	f.answer = func(slot uint32, input []byte) (byte, []byte) {
		if string(input) == "1" {
			slowID = f.current
			return noAnswer, nil // the first call is still running
		}
		return bridge.StatusResult, input
	}
	base := serve(t, f)
	status, body := post(t, base+"/task/echo", `{"input":1}`)
	assert.Equal(t, 504, status)
	assert.Equal(t, `{"ok":false,"error":{"code":504,"message":"Handler did not settle within taskTimeoutMs (50 ms)","codeName":"TIMEOUT"}}`, body)
	abort := nextAbort(t, f)
	assert.Equal(t, slowID, abort[0])
	assert.EqualValues(t, bridge.AbortTimeout, abort[1], "JavaScript is told, so ctx.signal fires")
	assert.EqualValues(t, 1, f.b.Stats().Timeouts.Load())
	late := binary.LittleEndian.AppendUint32(nil, slowID) // the late answer is dropped
	late = append(late, bridge.StatusResult, 0, 0, 0, 1, 0, 0, 0, '1')
	require.NoError(t, f.b.Complete(late))
	_, body = post(t, base+"/task/echo", `{"input":2}`)
	assert.Equal(t, `{"ok":true,"result":2}`, body)
	assert.Zero(t, f.b.Pending())
}

func TestMaxPendingAnswers503AtOnce(t *testing.T) {
	var mu sync.Mutex
	var held []uint32
	f := newFakeJSWith(1024, bridge.Options{MaxPending: 2}, nil)
	f.answer = func(slot uint32, input []byte) (byte, []byte) {
		mu.Lock()
		held = append(held, f.current)
		mu.Unlock()
		return noAnswer, nil
	}
	base := serve(t, f)
	results := make(chan string, 2)
	for i := 0; i < 2; i++ {
		go func() { _, body := post(t, base+"/task/echo", `{"input":1}`); results <- body }()
	}
	for deadline := time.Now().Add(3 * time.Second); f.b.Pending() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	status, body := post(t, base+"/task/echo", `{"input":3}`)
	assert.Equal(t, 503, status)
	assert.Contains(t, body, `"codeName":"SERVICE_UNAVAILABLE"`)
	assert.Contains(t, body, "maxInFlight=2")
	assert.EqualValues(t, 1, f.b.Stats().Rejected.Load())
	mu.Lock()
	for _, id := range held { // now let the two running calls settle
		rec := binary.LittleEndian.AppendUint32(nil, id)
		require.NoError(t, f.b.Complete(append(rec, bridge.StatusResult, 0, 0, 0, 1, 0, 0, 0, '1')))
	}
	mu.Unlock()
	assert.Equal(t, `{"ok":true,"result":1}`, <-results)
	assert.Equal(t, `{"ok":true,"result":1}`, <-results)
}

func TestClientDisconnectStopsWaiting(t *testing.T) {
	f := newFakeJSWith(1024, bridge.Options{WatchInterval: 10 * time.Millisecond}, func(uint32, []byte) (byte, []byte) {
		return noAnswer, nil // the handler never settles
	})
	base := serve(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(base, "/__runner"), "http://"))
	require.NoError(t, err)
	_, err = conn.Write([]byte("POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"input\":1}"))
	require.NoError(t, err)
	for f.b.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, conn.Close())
	assert.EqualValues(t, bridge.AbortDisconnect, nextAbort(t, f)[1])
	assert.Zero(t, f.b.Pending())
	assert.EqualValues(t, 1, f.b.Stats().Disconnects.Load())
}

func lastID(f *fakeJS) uint32 { return f.current }

func TestAppendHeadersWhilePending(t *testing.T) {
	got := make(chan string, 1)
	var f *fakeJS
	f = newFakeJS(1024, func(uint32, []byte) (byte, []byte) {
		return bridge.StatusNoResult, nil
	})
	// Replace the answer with one that reads the headers of the call being answered.
	f.answer = func(uint32, []byte) (byte, []byte) {
		out, ok := f.b.AppendHeaders(nil, lastID(f))
		if ok {
			got <- string(out)
		}
		return bridge.StatusNoResult, nil
	}
	base := serve(t, f)
	req, _ := http.NewRequest("POST", base+"/task/echo", strings.NewReader(`{}`))
	req.Header.Set("X-Custom", "one")
	req.Header.Add("X-Custom", "two")
	req.Header.Set("X-Quote", `a "b" \ c`)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	var headers map[string]string
	require.NoError(t, json.Unmarshal([]byte(<-got), &headers))
	assert.Equal(t, "one, two", headers["x-custom"])
	assert.Equal(t, `a "b" \ c`, headers["x-quote"])
	assert.Equal(t, "2", headers["content-length"])
	_, ok := f.b.AppendHeaders(nil, 99999)
	assert.False(t, ok, "no headers for a call that is not pending")
}
