package bridge_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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
	wake    chan struct{}
	wakeups atomic.Int64
	buf     []byte
	answer  func(slot uint32, input []byte) (status byte, data []byte)
}

func newFakeJS(bufSize int, answer func(uint32, []byte) (byte, []byte)) *fakeJS {
	f := &fakeJS{wake: make(chan struct{}, 1), buf: make([]byte, bufSize), answer: answer}
	f.b = bridge.New(func() {
		f.wakeups.Add(1)
		select {
		case f.wake <- struct{}{}:
		default:
		}
	})
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
				var input []byte
				if rec[9]&1 == 1 {
					input = rec[bridge.DrainHeader : bridge.DrainHeader+size]
				}
				status, data := f.answer(slot, input)
				out = binary.LittleEndian.AppendUint32(out, id)
				out = append(out, status, 0, 0, 0)
				out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
				out = append(out, data...)
				rec = rec[bridge.DrainHeader+size:]
			}
		}
		if err := f.b.Complete(out); err != nil {
			panic(err)
		}
	}
}

func serve(t *testing.T, f *fakeJS) string {
	t.Helper()
	reg := new(registry.Registry)
	reg.Set(route.Task, "echo", 0)
	reg.Set(route.Task, "fail", 1)
	reg.Set(route.Event, "notify", 2)
	srv, err := server.New(config.Config{Host: "127.0.0.1"}, reg, f.b)
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
	b := bridge.New(func() {})
	assert.ErrorIs(t, b.Complete([]byte{1, 2, 3}), bridge.ErrCorrupt)
	rec := binary.LittleEndian.AppendUint32(nil, 7)
	rec = append(rec, 0, 0, 0, 0)
	rec = binary.LittleEndian.AppendUint32(rec, 1000) // longer than the batch
	assert.ErrorIs(t, b.Complete(rec), bridge.ErrCorrupt)
	rec = binary.LittleEndian.AppendUint32(nil, 7) // unknown id: ignored
	rec = append(rec, 0, 0, 0, 0, 1, 0, 0, 0, '1')
	assert.NoError(t, b.Complete(rec))
}
