package server_test

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/gohandlers"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// recording is an Invoker that is also a Recorder: it keeps a copy of every record.
type recording struct {
	*gohandlers.Set
	mu      sync.Mutex
	records []record
}

type record struct {
	method, path, id, requestID, remote string
	status                              int
	kind                                byte
	bytesIn, bytesOut                   int64
	duration                            time.Duration
	time                                time.Time
}

func (r *recording) Record(a *wire.Access) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, record{
		method: string(a.Method), path: string(a.Path), id: string(a.ID), requestID: string(a.RequestID),
		remote: a.Remote.String(), status: a.Status, kind: a.Kind,
		bytesIn: a.BytesIn, bytesOut: a.BytesOut, duration: a.Duration, time: a.Time,
	})
}

func (r *recording) all() []record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]record(nil), r.records...)
}

// onRequests is how JavaScript's onRequests hook reaches Go's config: a function marker.
const onRequests = `"onRequests":{"$js":"function","text":"[function]"}`

func startRecording(t *testing.T, fields string) (*server.Server, *recording, string) {
	t.Helper()
	reg := new(registry.Registry)
	rec := &recording{Set: gohandlers.New(reg)}
	gohandlers.RegisterExamples(rec.Set)
	srv := server.New(cfg(t, fields), reg, rec)
	require.NoError(t, srv.Listen())
	t.Cleanup(func() { _ = srv.Close(time.Second, nil) })
	return srv, rec, fmt.Sprintf("http://127.0.0.1:%d", srv.Port())
}

// latencyCount sums the histogram's buckets.
func latencyCount(srv *server.Server) uint64 {
	n := uint64(0)
	for _, c := range srv.Stats().Latency.AppendTo(nil)[1:] {
		n += c
	}
	return n
}

func TestEveryAnsweredRequestIsRecorded(t *testing.T) {
	srv, rec, url := startRecording(t, onRequests+`,"protocol":"runner","auth":{"allowAnonymous":true},"exposure":"open"`)
	before := time.Now()
	// A request from a known local port, to check the remote address and port.
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	body := `{"input":{"a":2,"b":3}}`
	_, err = fmt.Fprintf(conn, "POST /__runner/task/app.tasks.add?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nx-runner-request-id: req-7\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	require.NoError(t, err)
	answers := readResponses(t, conn, 1)
	res, text := post(t, url+"/__runner/task/nope", `{}`)
	assert.Equal(t, http.StatusNotFound, res.StatusCode, text)

	records := rec.all()
	require.Len(t, records, 2, "one record per answered request, made before the answer is sent")
	call, missing := records[0], records[1]
	assert.Equal(t, "POST", call.method)
	assert.Equal(t, "/__runner/task/app.tasks.add", call.path, "the path as received, without the query")
	assert.Equal(t, "app.tasks.add", call.id)
	assert.EqualValues(t, wire.KindTask, call.kind)
	assert.Equal(t, "req-7", call.requestID, "the client's x-runner-request-id")
	assert.Equal(t, 200, call.status)
	assert.EqualValues(t, len(body), call.bytesIn)
	assert.EqualValues(t, len(strings.TrimPrefix(answers[0], "200 ")), call.bytesOut, "the body sent")
	assert.Equal(t, conn.LocalAddr().String(), call.remote, "the client's address and port")
	assert.False(t, call.time.Before(before.Truncate(time.Millisecond)), "time is when the request was read")
	assert.Positive(t, call.duration)

	assert.Equal(t, 404, missing.status)
	assert.Zero(t, missing.kind, "answered by the server alone: no kind")
	assert.Empty(t, missing.id)
	assert.Len(t, missing.requestID, 36, "a generated request id")
	assert.EqualValues(t, len(text), missing.bytesOut)

	assert.EqualValues(t, 2, latencyCount(srv), "the histogram counts both")
}

func TestNoRecordsUnlessAsked(t *testing.T) {
	srv, rec, url := startRecording(t, "")
	for i := 0; i < 3; i++ {
		res, text := post(t, url+"/__runner/task/app.tasks.add", `{"input":{"a":1,"b":`+strconv.Itoa(i)+`}}`)
		require.Equal(t, 200, res.StatusCode, text)
	}
	assert.Empty(t, rec.all(), "without config.AccessLog the server builds no record")
	assert.EqualValues(t, 3, latencyCount(srv), "the histogram counts every answer all the same")
}

func TestRecordsCutLongPaths(t *testing.T) {
	_, rec, url := startRecording(t, onRequests+`,"maxHeaderSize":16384,"protocol":"runner","auth":{"allowAnonymous":true},"exposure":"open"`)
	long := "/__runner/task/" + strings.Repeat("x", 3*wire.AccessMaxString)
	res, _ := post(t, url+long, `{}`)
	assert.Equal(t, 404, res.StatusCode)
	records := rec.all()
	require.Len(t, records, 1)
	assert.Equal(t, long[:wire.AccessMaxString], records[0].path)
}
