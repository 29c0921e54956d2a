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

	json "github.com/goccy/go-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/testhttp"
	"github.com/bluelibs/runner-native/internal/wire"
)

// record is one Go → JavaScript record as the fake JavaScript thread sees it.
type record struct {
	id       uint32
	kind     byte
	flags    byte
	aux      uint16
	slot     uint32
	input    string
	hasInput bool
	extras   map[uint32]string
}

// reply is an answer the fake JavaScript thread hands back.
type reply struct {
	kind    byte
	flags   byte
	status  uint16
	payload []byte
}

var noReply = reply{} // the handler has not settled yet

// fakeJS plays the JavaScript thread: on each wake-up it exchanges, answering every
// call with answer(rec), and sends answers given later with send.
type fakeJS struct {
	port      *bridge.Port
	pool      *bridge.Pool
	index     int32
	wake      chan struct{}
	wakeups   atomic.Int64
	drop      atomic.Int32 // wake-ups still to ignore, as a JavaScript thread that lost one
	aborts    chan record
	answer    func(rec record) reply
	mu        sync.Mutex
	out       []byte
	buf       []byte
	exchanges atomic.Int64
	hold      chan struct{} // when set, the thread takes no wake-up until it is closed
}

func newFakeJS(bufSize int, opts bridge.Options, answer func(record) reply) *fakeJS {
	return newHeldFakeJS(bufSize, opts, answer, nil)
}

// newHeldFakeJS is newFakeJS for a thread that is busy until hold is closed: a
// wake-up stays in flight meanwhile, as it does while JavaScript runs other code.
// Tests use it to queue calls before the thread looks at them, whatever the scheduler
// does (nil: not held).
func newHeldFakeJS(bufSize int, opts bridge.Options, answer func(record) reply, hold chan struct{}) *fakeJS {
	f := &fakeJS{wake: make(chan struct{}, 1), buf: make([]byte, bufSize), answer: answer, aborts: make(chan record, 64), pool: bridge.NewPool(), hold: hold}
	f.port, f.index = f.pool.Add(func() {
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
		if f.hold != nil {
			<-f.hold
		}
		if f.drop.Load() > 0 {
			f.drop.Add(-1)
			continue
		}
		mode := wire.ExchangeWake
		for {
			f.mu.Lock()
			answers := f.out
			f.out = nil
			f.mu.Unlock()
			n, need, err := f.port.Exchange(answers, f.buf, mode)
			f.exchanges.Add(1)
			mode = wire.ExchangeFlush
			if err != nil {
				panic(err)
			}
			if need > 0 {
				f.buf = make([]byte, need)
				continue
			}
			for _, rec := range parse(f.buf[:n]) {
				if rec.kind == wire.KindAbort {
					f.aborts <- rec
					continue
				}
				if r := f.answer(rec); r.kind != 0 {
					f.send(rec.id, r)
				}
			}
			f.mu.Lock()
			more := len(f.out) > 0
			f.mu.Unlock()
			if n == 0 && !more {
				break
			}
		}
	}
}

// send queues an answer for call id; it leaves with the next exchange.
func (f *fakeJS) send(id uint32, r reply) {
	rec := make([]byte, wire.AnswerHeader)
	binary.LittleEndian.PutUint32(rec[0:], id)
	rec[4], rec[5] = r.kind, r.flags
	binary.LittleEndian.PutUint16(rec[6:], r.status)
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(r.payload)))
	f.mu.Lock()
	f.out = append(append(f.out, rec...), r.payload...)
	f.mu.Unlock()
}

// sendRaw queues an already encoded answer.
func (f *fakeJS) sendRaw(rec []byte) {
	f.mu.Lock()
	f.out = append(f.out, rec...)
	f.mu.Unlock()
}

// flushNow hands queued answers to Go at once, as a microtask flush does.
func (f *fakeJS) flushNow() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func parse(b []byte) []record {
	var out []record
	for len(b) >= wire.CallHeader {
		r := record{
			id: binary.LittleEndian.Uint32(b[0:]), kind: b[4], flags: b[5], hasInput: b[5]&wire.FlagHasInput != 0,
			aux: binary.LittleEndian.Uint16(b[6:]), slot: binary.LittleEndian.Uint32(b[8:]),
			extras: map[uint32]string{},
		}
		in := int(binary.LittleEndian.Uint32(b[12:]))
		ex := int(binary.LittleEndian.Uint32(b[16:]))
		r.input = string(b[wire.CallHeader : wire.CallHeader+in])
		x := b[wire.CallHeader+in : wire.CallHeader+in+ex]
		for len(x) >= wire.ExtraHeader {
			tag, n := binary.LittleEndian.Uint32(x), int(binary.LittleEndian.Uint32(x[4:]))
			r.extras[tag] = string(x[wire.ExtraHeader : wire.ExtraHeader+n])
			x = x[wire.ExtraHeader+n:]
		}
		out = append(out, r)
		b = b[wire.CallHeader+in+ex:]
	}
	return out
}

func result(s string) reply { return reply{kind: wire.AnswerResult, payload: []byte(s)} }

func errorField(s string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(s))), s...)
}

// echoJS: slot 0 echoes its input, slot 1 fails, slot 2 (an event) answers nothing.
func echoJS(rec record) reply {
	switch rec.slot {
	case 0:
		if !rec.hasInput {
			return reply{kind: wire.AnswerNoResult}
		}
		return result(rec.input)
	case 1:
		return reply{kind: wire.AnswerError, payload: errorField("Operation failed: nope")}
	}
	return reply{kind: wire.AnswerNoResult}
}

func serve(t *testing.T, f *fakeJS) (*server.Server, string) {
	return serveWith(t, f, config.Defaults(config.Seed))
}

func serveWith(t *testing.T, f *fakeJS, cfg config.Config) (*server.Server, string) {
	t.Helper()
	reg := new(registry.Registry)
	reg.Apply(f.index, []registry.Registration{
		{Kind: route.Task, ID: "echo", Slot: 0, Listed: true},
		{Kind: route.Task, ID: "fail", Slot: 1, Listed: true},
		{Kind: route.Event, ID: "notify", Slot: 2, Listed: true},
	})
	cfg.Host = "127.0.0.1"
	srv := server.New(cfg, reg, f.pool)
	require.NoError(t, srv.Listen())
	t.Cleanup(func() { _ = srv.Close(time.Second, f.pool.Deadline); f.port.Close() })
	return srv, fmt.Sprintf("http://127.0.0.1:%d/__runner", srv.Port())
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	r := <-testhttp.PostAsync(url, body)
	require.NoError(t, r.Err)
	return r.Status, r.Body
}

// eventually polls cond (state, not time) and fails the test if it never holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, time.Millisecond, what)
}

func TestRoundTrip(t *testing.T) {
	_, base := serve(t, newFakeJS(64<<10, bridge.Options{}, echoJS))
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

// Calls queued while a wake-up is in flight share it, and every answer reaches its own
// caller. The thread is held busy until all calls are queued, so that the batching is
// certain: without the hold, a fast thread can take each call before the next arrives
// (one wake-up per call, which is correct but not what this test checks).
func TestManyConcurrentCallsBatchAndMatch(t *testing.T) {
	hold := make(chan struct{})
	f := newHeldFakeJS(64<<10, bridge.Options{}, echoJS, hold)
	_, base := serve(t, f)
	const n = 500
	results := make([]<-chan testhttp.Reply, n)
	for i := range results {
		results[i] = testhttp.PostAsync(base+"/task/echo", fmt.Sprintf(`{"input":%d}`, i))
	}
	eventually(t, "all calls queued while the thread is busy", func() bool { return f.port.Pending() == n })
	assert.EqualValues(t, 1, f.wakeups.Load(), "the first call woke the thread; the others found the wake-up in flight")
	close(hold)
	for i, ch := range results {
		r := <-ch
		require.NoError(t, r.Err)
		assert.Equal(t, fmt.Sprintf(`{"ok":true,"result":%d}`, i), r.Body)
	}
	assert.EqualValues(t, 1, f.wakeups.Load(), "one wake-up served all %d calls", n)
	assert.Less(t, f.exchanges.Load(), int64(n), "the calls were taken in batches")
}

func TestInputLargerThanTheBufferGrowsIt(t *testing.T) {
	_, base := serve(t, newFakeJS(64, bridge.Options{}, echoJS))
	big := `"` + strings.Repeat("x", 100_000) + `"`
	_, body := post(t, base+"/task/echo", `{"input":`+big+`}`)
	assert.Equal(t, `{"ok":true,"result":`+big+`}`, body)
}

// A JavaScript thread that loses wake-ups (an exception before it exchanged) does not
// stall the server: the watchdog wakes it again.
func TestLostWakeUpsAreSentAgain(t *testing.T) {
	f := newFakeJS(1024, bridge.Options{WatchInterval: 10 * time.Millisecond}, echoJS)
	f.drop.Store(3)
	_, base := serve(t, f)
	_, body := post(t, base+"/task/echo", `{"input":"late but answered"}`)
	assert.Equal(t, `{"ok":true,"result":"late but answered"}`, body)
	assert.Zero(t, f.drop.Load(), "three wake-ups were lost, the fourth was answered")
	_, body = post(t, base+"/task/echo", `{"input":2}`)
	assert.Equal(t, `{"ok":true,"result":2}`, body)
}

// Calls queued while a wake-up is on its way do not send more wake-ups.
func TestOneWakeUpWhileOneIsInFlight(t *testing.T) {
	var woken atomic.Int64
	p := bridge.NewPort(func() { woken.Add(1) }, bridge.Options{}, nil)
	defer p.Close()
	calls := make([]*server.Call, 3)
	done := make(chan struct{}, 3)
	for i := range calls {
		calls[i] = &server.Call{Op: server.OpTask, HasInput: true, Input: []byte("1")}
		go func(c *server.Call) { p.Invoke(c); done <- struct{}{} }(calls[i])
	}
	eventually(t, "three calls queued", func() bool { return p.Pending() == 3 })
	assert.EqualValues(t, 1, woken.Load())
	buf := make([]byte, 4096)
	n, _, err := p.Exchange(nil, buf, wire.ExchangeWake)
	require.NoError(t, err)
	recs := parse(buf[:n])
	require.Len(t, recs, 3)
	assert.EqualValues(t, 1, woken.Load(), "the queue was emptied: no wake-up is owed")
	var answers []byte
	for _, r := range recs {
		answers = append(answers, make([]byte, wire.AnswerHeader)...)
		a := answers[len(answers)-wire.AnswerHeader:]
		binary.LittleEndian.PutUint32(a, r.id)
		a[4] = wire.AnswerNoResult
	}
	n, _, err = p.Exchange(answers, buf, wire.ExchangeFlush)
	require.NoError(t, err)
	assert.Zero(t, n)
	for range calls {
		<-done
	}
	for _, c := range calls {
		assert.Equal(t, server.NoResult, c.Outcome)
	}
}

func TestShutdownAnswersPendingAndLaterCalls(t *testing.T) {
	f := newFakeJS(1024, bridge.Options{}, func(record) reply { return noReply })
	_, base := serve(t, f)
	first := testhttp.PostAsync(base+"/task/echo", `{"input":1}`)
	eventually(t, "the call waits for JavaScript", func() bool { return f.port.Pending() == 1 })
	f.port.Shutdown(protocol.ShuttingDown)
	want := `{"ok":false,"error":{"code":503,"message":"Server is shutting down","codeName":"SERVICE_UNAVAILABLE"}}`
	r := <-first
	require.NoError(t, r.Err)
	assert.Equal(t, want, r.Body)
	status, body := post(t, base+"/task/echo", `{"input":2}`)
	assert.Equal(t, 503, status)
	assert.Equal(t, want, body)
}

func TestCorruptAnswersAreRefused(t *testing.T) {
	p := bridge.NewPort(func() {}, bridge.Options{}, nil)
	defer p.Close()
	_, _, err := p.Exchange([]byte{1, 2, 3}, nil, wire.ExchangeFlush)
	assert.ErrorIs(t, err, wire.ErrCorrupt)
	unknown := make([]byte, wire.AnswerHeader)
	binary.LittleEndian.PutUint32(unknown, 12345)
	unknown[4] = wire.AnswerNoResult
	_, _, err = p.Exchange(unknown, nil, wire.ExchangeFlush)
	assert.NoError(t, err, "an answer for an unknown call is ignored")
}

func TestTimeoutAnswers504AndDropsTheLateAnswer(t *testing.T) {
	slow := make(chan uint32, 1)
	f := newFakeJS(1024, bridge.Options{Timeout: 50 * time.Millisecond}, func(rec record) reply {
		if rec.input == "1" {
			slow <- rec.id
			return noReply // the first call is still running
		}
		return result(rec.input)
	})
	_, base := serve(t, f)
	status, body := post(t, base+"/task/echo", `{"input":1}`)
	assert.Equal(t, 504, status)
	assert.Equal(t, `{"ok":false,"error":{"code":504,"message":"Handler did not settle within taskTimeoutMs (50 ms)","codeName":"TIMEOUT"}}`, body)
	id := <-slow
	abort := <-f.aborts
	assert.Equal(t, id, abort.id)
	assert.EqualValues(t, wire.AbortTimeout, abort.aux, "JavaScript is told, so ctx.signal fires")
	assert.EqualValues(t, 1, f.pool.Stats().Timeouts.Load())
	f.send(id, result("1")) // the late answer is dropped
	f.flushNow()
	_, body = post(t, base+"/task/echo", `{"input":2}`)
	assert.Equal(t, `{"ok":true,"result":2}`, body)
	assert.Zero(t, f.port.Pending())
}

func TestMaxPendingAnswers503AtOnce(t *testing.T) {
	held := make(chan uint32, 2)
	f := newFakeJS(1024, bridge.Options{MaxPending: 2}, func(rec record) reply { held <- rec.id; return noReply })
	_, base := serve(t, f)
	first := []<-chan testhttp.Reply{testhttp.PostAsync(base+"/task/echo", `{"input":1}`), testhttp.PostAsync(base+"/task/echo", `{"input":1}`)}
	eventually(t, "two calls wait", func() bool { return f.port.Pending() == 2 })
	status, body := post(t, base+"/task/echo", `{"input":3}`)
	assert.Equal(t, 503, status)
	assert.Contains(t, body, `"codeName":"SERVICE_UNAVAILABLE"`)
	assert.Contains(t, body, "maxInFlight=2")
	assert.EqualValues(t, 1, f.pool.Stats().Rejected.Load())
	f.send(<-held, result("1"))
	f.send(<-held, result("1"))
	f.flushNow()
	for _, ch := range first {
		r := <-ch
		require.NoError(t, r.Err)
		assert.Equal(t, `{"ok":true,"result":1}`, r.Body)
	}
}

func TestClientDisconnectStopsWaiting(t *testing.T) {
	f := newFakeJS(1024, bridge.Options{WatchInterval: 10 * time.Millisecond}, func(record) reply { return noReply })
	_, base := serve(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(base, "/__runner"), "http://"))
	require.NoError(t, err)
	_, err = conn.Write([]byte("POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n{\"input\":1}"))
	require.NoError(t, err)
	eventually(t, "the call waits", func() bool { return f.port.Pending() == 1 })
	require.NoError(t, conn.Close())
	assert.EqualValues(t, wire.AbortDisconnect, (<-f.aborts).aux)
	assert.Zero(t, f.port.Pending())
	assert.EqualValues(t, 1, f.pool.Stats().Disconnects.Load())
}

// close() past its deadline: the running call is answered 503 and JavaScript gets an
// abort record for it, so its signal fires.
func TestCloseDeadlineAnswers503AndAborts(t *testing.T) {
	f := newFakeJS(1024, bridge.Options{}, func(record) reply { return noReply })
	srv, base := serve(t, f)
	waiting := testhttp.PostAsync(base+"/task/echo", `{"input":1}`)
	eventually(t, "the call waits", func() bool { return f.port.Pending() == 1 })
	require.NoError(t, srv.Close(20*time.Millisecond, f.pool.Deadline))
	r := <-waiting
	require.NoError(t, r.Err)
	assert.Equal(t, 503, r.Status)
	assert.Equal(t, `{"ok":false,"error":{"code":503,"message":"Server closed before the handler settled (closeTimeoutMs)","codeName":"SERVICE_UNAVAILABLE"}}`, r.Body)
	assert.EqualValues(t, wire.AbortClosing, (<-f.aborts).aux)
	assert.EqualValues(t, 1, f.pool.Stats().ClosedByDeadline.Load())
	assert.Zero(t, srv.OpenConnections())
}

func TestHeadersWhilePending(t *testing.T) {
	got := make(chan string, 1)
	var f *fakeJS
	f = newFakeJS(1024, bridge.Options{}, func(rec record) reply {
		out, ok := f.port.Headers(nil, rec.id)
		if ok {
			got <- string(out)
		}
		return reply{kind: wire.AnswerNoResult}
	})
	_, base := serve(t, f)
	req, err := http.NewRequest("POST", base+"/task/echo", strings.NewReader(`{}`))
	require.NoError(t, err)
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
	_, ok := f.port.Headers(nil, 99999)
	assert.False(t, ok, "no headers for a call that is not pending")
}

// credit builds a body-credit answer for call id: it can take the body's bytes up to
// offset n.
func credit(id uint32, n int) []byte {
	rec := make([]byte, wire.AnswerHeader)
	binary.LittleEndian.PutUint32(rec[0:], id)
	rec[4] = wire.AnswerBodyCredit
	binary.LittleEndian.PutUint32(rec[12:], uint32(n))
	return rec
}

// A raw body reaches JavaScript in pieces, only as it gives credit, and the answer
// waits for it.
func TestBodyStreamFlowsOnCredit(t *testing.T) {
	var mu sync.Mutex
	got := map[uint32][]byte{}
	records := 0
	var f *fakeJS
	f = newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		mu.Lock()
		defer mu.Unlock()
		records++
		switch rec.kind {
		case wire.KindTask:
			f.sendRaw(credit(rec.id, wire.BodyChunk)) // room for one piece
		case wire.KindBody:
			got[rec.id] = append(got[rec.id], rec.input...)
			if rec.flags&wire.FlagEnd != 0 {
				return result(fmt.Sprintf(`{"bytes":%d}`, len(got[rec.id])))
			}
			f.sendRaw(credit(rec.id, len(got[rec.id])+wire.BodyChunk))
		}
		return noReply
	})
	cfg := config.Defaults(config.Seed)
	_, base := serveWith(t, f, cfg)
	body := strings.Repeat("0123456789", 30_000) // 300 KB: five pieces
	res, err := http.Post(base+"/task/echo", "application/octet-stream", strings.NewReader(body))
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, `{"ok":true,"result":{"bytes":300000}}`, string(b))
	mu.Lock()
	defer mu.Unlock()
	for _, v := range got {
		assert.Equal(t, body, string(v), "byte for byte")
	}
	assert.GreaterOrEqual(t, records, 1+5, "the call, then one record per 64 KiB piece")
}

// A raw body over maxStreamBodySize fails the stream in JavaScript and is answered 413.
func TestBodyStreamLimit(t *testing.T) {
	var f *fakeJS
	f = newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		if rec.kind == wire.KindTask {
			f.sendRaw(credit(rec.id, 1<<20))
		}
		return noReply
	})
	cfg := config.Defaults(config.Seed)
	cfg.MaxStreamBodySize = 100_000
	_, base := serveWith(t, f, cfg)
	res, err := http.Post(base+"/task/echo", "application/octet-stream", strings.NewReader(strings.Repeat("x", 200_000)))
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, 413, res.StatusCode, string(b))
	abort := <-f.aborts
	assert.Equal(t, "PAYLOAD_TOO_LARGE", wire.AbortReasons[int(abort.aux)].Code, "JavaScript is told why")
}

// creditFor builds a body-credit answer for stream of call id (offset, or a discard).
func creditFor(id uint32, stream uint16, offset int, discard bool) []byte {
	rec := credit(id, offset)
	binary.LittleEndian.PutUint16(rec[6:], stream)
	if discard {
		rec[5] = wire.FlagDiscard
	}
	return rec
}

// formBody is a multipart form: a manifest, then one file part per size.
func formBody(sizes ...int) (string, []string) {
	var b strings.Builder
	b.WriteString("--B\r\nContent-Disposition: form-data; name=\"__manifest\"\r\n\r\n{\"input\":1}\r\n")
	var files []string
	for i, n := range sizes {
		data := strings.Repeat(string(rune('a'+i)), n)
		files = append(files, data)
		fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=\"file:f%d\"; filename=\"f%d.txt\"\r\n\r\n%s\r\n", i, i, data)
	}
	b.WriteString("--B--\r\n")
	return b.String(), files
}

func runnerConfig() config.Config {
	cfg := config.Defaults(config.Runner)
	cfg.Auth.AllowAnonymous = true
	return cfg
}

func postForm(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "multipart/form-data; boundary=B", strings.NewReader(body))
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b)
}

// A form's files reach JavaScript each as its own stream, in order, as JavaScript gives
// each credit; stream 0 says the form ended; the answer comes after.
func TestFormFilesFlowOnCredit(t *testing.T) {
	var mu sync.Mutex
	got := map[uint16][]byte{}
	var call record
	var f *fakeJS
	f = newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case rec.kind == wire.KindTask:
			call = rec
		case rec.kind == wire.KindBody && rec.aux == 0:
			if rec.flags&wire.FlagEnd != 0 {
				return result(fmt.Sprintf(`[%d,%d]`, len(got[1]), len(got[2])))
			}
		case rec.kind == wire.KindBody:
			if rec.flags&wire.FlagPart != 0 {
				assert.Equal(t, fmt.Sprintf("f%d", rec.aux-1), rec.extras[wire.ExtraFileID])
				assert.Equal(t, fmt.Sprintf("f%d.txt", rec.aux-1), rec.extras[wire.ExtraFilename])
				assert.Equal(t, "text/plain", rec.extras[wire.ExtraFileType])
			}
			got[rec.aux] = append(got[rec.aux], rec.input...)
			assert.LessOrEqual(t, len(rec.input), wire.BodyChunk, "at most a chunk a record")
			f.sendRaw(creditFor(rec.id, rec.aux, len(got[rec.aux])+wire.BodyChunk, false))
		}
		return noReply
	})
	_, base := serveWith(t, f, runnerConfig())
	body, files := formBody(300_000, 5)
	status, answer := postForm(t, base+"/task/echo", body)
	assert.Equal(t, 200, status, answer)
	assert.Equal(t, `{"ok":true,"result":[300000,5]}`, answer)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, wire.FlagMultipart|wire.FlagHasInput, int(call.flags))
	assert.Equal(t, `{"input":1}`, call.input, "the manifest is the input")
	assert.Equal(t, files[0], string(got[1]))
	assert.Equal(t, files[1], string(got[2]))
}

// Once the task settled (a discard of stream 0), Go waits for no credit: each file gets
// its first 64 KiB and fails with FILE_DISCARDED, the rest of the form is read and
// checked, and the form's end comes last.
func TestFormSettledDropsWhatIsUnread(t *testing.T) {
	var mu sync.Mutex
	got := map[uint16]int{}
	failed := map[uint16]string{}
	var f *fakeJS
	f = newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case rec.kind == wire.KindTask:
			f.sendRaw(creditFor(rec.id, 0, 0, true))
		case rec.kind == wire.KindBody && rec.aux == 0:
			return result(fmt.Sprintf(`%d`, len(failed)))
		case rec.flags&wire.FlagFailed != 0:
			failed[rec.aux] = rec.extras[wire.ExtraCode]
		default:
			got[rec.aux] += len(rec.input)
		}
		return noReply
	})
	_, base := serveWith(t, f, runnerConfig())
	body, _ := formBody(1_000_000, 100, 2_000_000)
	status, answer := postForm(t, base+"/task/echo", body)
	assert.Equal(t, 200, status)
	assert.Equal(t, `{"ok":true,"result":2}`, answer)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[uint16]int{1: wire.BodyChunk, 2: 100, 3: wire.BodyChunk}, got)
	assert.Equal(t, map[uint16]string{1: "FILE_DISCARDED", 3: "FILE_DISCARDED"}, failed)
}

// A refused form goes to JavaScript as stream 0's failure (status, code, message), and
// the answer is JavaScript's; the connection closes (the rest is not read).
func TestFormRefusalGoesToJavaScript(t *testing.T) {
	var f *fakeJS
	f = newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		if rec.kind == wire.KindBody && rec.aux == 0 && rec.flags&wire.FlagFailed != 0 {
			assert.EqualValues(t, 413, rec.slot)
			return reply{kind: wire.AnswerError, flags: wire.FlagHasCode, status: uint16(rec.slot), payload: append(errorField(rec.extras[wire.ExtraCode]), errorField(rec.input)...)}
		}
		if rec.kind == wire.KindBody && rec.flags&wire.FlagPart != 0 {
			f.sendRaw(creditFor(rec.id, rec.aux, 1<<30, false))
		}
		return noReply
	})
	cfg := runnerConfig()
	cfg.Multipart.FileSize = 1000
	_, base := serveWith(t, f, cfg)
	body, _ := formBody(5000)
	status, answer := postForm(t, base+"/task/echo", body)
	assert.Equal(t, 413, status)
	assert.Equal(t, `{"ok":false,"error":{"message":"File size limit exceeded","code":"PAYLOAD_TOO_LARGE"}}`, answer)
}

// A client gone in the middle of a file, while the task reads nothing (its bytes are
// still unread in the socket): the watcher sees it gone all the same (Linux: the TCP
// state), JavaScript gets an abort, the call is over. (Only once the client's bytes
// fit the server's socket buffer: its FIN comes behind them.)
func TestFormClientGone(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("a peer gone behind unread bytes is seen through TCP_INFO, on Linux")
	}
	f := newFakeJS(1<<20, bridge.Options{WatchInterval: 10 * time.Millisecond}, func(rec record) reply { return noReply })
	srv, base := serveWith(t, f, runnerConfig())
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(base, "/__runner"), "http://"))
	require.NoError(t, err)
	body, _ := formBody(1_000_000)
	_, err = fmt.Fprintf(conn, "POST /__runner/task/echo HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:120_000])
	require.NoError(t, err)
	eventually(t, "the call waits", func() bool { return f.port.Pending() == 1 })
	require.NoError(t, conn.Close())
	assert.EqualValues(t, wire.AbortDisconnect, (<-f.aborts).aux)
	eventually(t, "the call is over", func() bool { return f.port.Pending() == 0 && srv.Stats().InFlight.Load() == 0 })
	assert.EqualValues(t, 1, f.pool.Stats().Disconnects.Load())
}

// A record names its file stream in 16 bits (stream 0 is the form): a form of more file
// parts than that (possible when files is unlimited) is refused as one over a files
// limit, never wrapped onto stream 0 or onto another file's credit.
func TestFormOfMoreFilesThanStreamIDs(t *testing.T) {
	var mu sync.Mutex
	var highest uint16
	var failure string
	f := newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case rec.kind == wire.KindBody && rec.aux == 0:
			failure = fmt.Sprintf("%d %s %s", rec.slot, rec.extras[wire.ExtraCode], rec.input)
			return result(`"refused"`)
		case rec.kind == wire.KindBody:
			highest = max(highest, rec.aux)
		}
		return noReply
	})
	cfg := runnerConfig()
	cfg.Multipart.Files, cfg.Multipart.Parts = -1, -1
	_, base := serveWith(t, f, cfg)
	var b strings.Builder
	b.WriteString("--B\r\nContent-Disposition: form-data; name=\"__manifest\"\r\n\r\n{\"input\":1}\r\n")
	for i := 0; i <= 1<<16; i++ {
		b.WriteString("--B\r\nContent-Disposition: form-data; name=\"file:f\"; filename=\"f\"\r\n\r\n\r\n")
	}
	b.WriteString("--B--\r\n")
	status, answer := postForm(t, base+"/task/echo", b.String())
	assert.Equal(t, 200, status, answer) // the fake JavaScript answers the refusal
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "413 PAYLOAD_TOO_LARGE Files limit exceeded", failure)
	assert.Equal(t, uint16(1<<16-1), highest, "every stream id used once, none wrapped")
}

// File parts before the manifest are kept in memory until it comes: at most 64 of them,
// names included in the 1 MiB they may hold together; more is refused, as a file too
// large to keep is.
func TestFormEarlyPartsAreBounded(t *testing.T) {
	f := newFakeJS(1<<20, bridge.Options{}, func(rec record) reply {
		if rec.kind == wire.KindBody && rec.aux == 0 {
			return result(`"read"`)
		}
		return noReply
	})
	cfg := runnerConfig()
	cfg.Multipart.Files = -1
	_, base := serveWith(t, f, cfg)
	early := func(n int, name string, data int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "--B\r\nContent-Disposition: form-data; name=\"file:f%d\"; filename=\"%s\"\r\n\r\n%s\r\n", i, name, strings.Repeat("d", data))
		}
		b.WriteString("--B\r\nContent-Disposition: form-data; name=\"__manifest\"\r\n\r\n{\"input\":1}\r\n--B--\r\n")
		return b.String()
	}
	status, answer := postForm(t, base+"/task/echo", early(64, "f", 0))
	assert.Equal(t, 200, status, "64 early parts are kept: %s", answer)
	status, answer = postForm(t, base+"/task/echo", early(65, "f", 0))
	assert.Equal(t, 400, status, answer)
	assert.Contains(t, answer, `"code":"INVALID_MULTIPART"`)
	status, answer = postForm(t, base+"/task/echo", early(20, "n", 40_000))
	assert.Equal(t, 200, status, "800 KB of early files are kept: %s", answer)
	status, answer = postForm(t, base+"/task/echo", early(20, strings.Repeat("n", 15_000), 40_000))
	assert.Equal(t, 400, status, "the same with 15 KB names is over 1 MiB: %s", answer)
}
