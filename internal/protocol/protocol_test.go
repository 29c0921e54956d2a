package protocol

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func failure(d Dialect, f Failure, arg string) (string, int) {
	msg := d.AppendMessage(nil, f, []byte(arg))
	out, status := d.AppendFailure(nil, f, msg)
	return string(out), status
}

// Each case: a failure, its argument, and the exact envelope and status of each protocol.
func TestFailures(t *testing.T) {
	seed, runner := For(false), For(true)
	cases := []struct {
		f            Failure
		arg          string
		seedBody     string
		seedStatus   int
		runnerBody   string
		runnerStatus int
	}{
		{RouteNotFound, "", `{"ok":false,"error":{"code":404,"message":"Route not found","codeName":"NOT_FOUND"}}`, 404,
			`{"ok":false,"error":{"message":"Not Found","code":"NOT_FOUND"}}`, 404},
		{TaskNotFound, "a.b", `{"ok":false,"error":{"code":404,"message":"Task not found: a.b","codeName":"NOT_FOUND"}}`, 404,
			`{"ok":false,"error":{"message":"Task a.b not found","code":"NOT_FOUND"}}`, 404},
		{EventNotExposed, "e", `{"ok":false,"error":{"code":403,"message":"Event e not exposed","codeName":"FORBIDDEN"}}`, 403,
			`{"ok":false,"error":{"message":"Event e not exposed","code":"FORBIDDEN"}}`, 403},
		{ExposureDisabled, "", `{"ok":false,"error":{"code":403,"message":"Exposure not enabled","codeName":"FORBIDDEN"}}`, 403,
			`{"ok":false,"error":{"message":"Exposure not enabled","code":"FORBIDDEN"}}`, 403},
		{MethodNotAllowed, "POST", `{"ok":false,"error":{"code":405,"message":"Method not allowed: use POST","codeName":"METHOD_NOT_ALLOWED"}}`, 405,
			`{"ok":false,"error":{"message":"Method Not Allowed","code":"METHOD_NOT_ALLOWED"}}`, 405},
		{Unauthorized, "x-runner-token", `{"ok":false,"error":{"code":401,"message":"Missing or invalid x-runner-token header","codeName":"UNAUTHORIZED"}}`, 401,
			`{"ok":false,"error":{"message":"Unauthorized","code":"UNAUTHORIZED"}}`, 401},
		{AuthNotConfigured, "", `{"ok":false,"error":{"code":500,"message":"Authentication not configured.","codeName":"AUTH_NOT_CONFIGURED"}}`, 500,
			`{"ok":false,"error":{"message":"Authentication not configured.","code":"AUTH_NOT_CONFIGURED"}}`, 500},
		{InvalidJSON, "malformed JSON", `{"ok":false,"error":{"code":400,"message":"Invalid JSON body: malformed JSON","codeName":"INVALID_JSON"}}`, 400,
			`{"ok":false,"error":{"message":"Invalid JSON body","code":"INVALID_JSON"}}`, 400},
		{PayloadTooLarge, "10", `{"ok":false,"error":{"code":413,"message":"Request body exceeds maxBodySize (10 bytes)","codeName":"PAYLOAD_TOO_LARGE"}}`, 413,
			`{"ok":false,"error":{"message":"Payload too large","code":"PAYLOAD_TOO_LARGE"}}`, 413},
		{ClientGone, "", `{"ok":false,"error":{"code":499,"message":"Client Closed Request","codeName":"REQUEST_ABORTED"}}`, 499,
			`{"ok":false,"error":{"message":"Client Closed Request","code":"REQUEST_ABORTED"}}`, 499},
		{InvalidID, "bad escape", `{"ok":false,"error":{"code":400,"message":"Invalid id: bad escape","codeName":"BAD_REQUEST"}}`, 400,
			`{"ok":false,"error":{"message":"Not Found","code":"NOT_FOUND"}}`, 404},
	}
	for _, c := range cases {
		body, status := failure(seed, c.f, c.arg)
		assert.Equal(t, c.seedBody, body)
		assert.Equal(t, c.seedStatus, status, c.seedBody)
		body, status = failure(runner, c.f, c.arg)
		assert.Equal(t, c.runnerBody, body)
		assert.Equal(t, c.runnerStatus, status, c.runnerBody)
	}
}

// Every failure has an entry in both tables.
func TestTablesAreComplete(t *testing.T) {
	for f := range len(seedTable) {
		assert.NotZero(t, seedTable[f].Status, "seed failure %d", f)
		assert.NotZero(t, runnerTable[f].Status, "runner failure %d", f)
		assert.NotEmpty(t, runnerTable[f].Code, "runner failure %d", f)
	}
}

func handlerError(d Dialect, e HandlerError) (string, int) {
	out, status := d.AppendHandlerError(nil, &e)
	return string(out), status
}

// Each case: a handler error and the envelope and status of each protocol. Runner's
// rules are its sanitizeErrorResponse: at 500 only typed errors (with an id) keep their
// message and undefined data is dropped; other statuses keep every field.
func TestHandlerErrors(t *testing.T) {
	seed, runner := For(false), For(true)
	undef := []byte(`{"__type":"Undefined","value":null}`)
	cases := []struct {
		name       string
		e          HandlerError
		seedBody   string
		runnerBody string
		status     int
	}{
		{"untyped 500", HandlerError{Message: []byte("db password is hunter2")},
			`{"ok":false,"error":{"code":500,"message":"db password is hunter2","codeName":"INTERNAL_ERROR"}}`,
			`{"ok":false,"error":{"message":"Internal Error","code":"INTERNAL_ERROR"}}`, 500},
		{"empty message", HandlerError{Message: []byte("")},
			`{"ok":false,"error":{"code":500,"message":"Task execution failed","codeName":"INTERNAL_ERROR"}}`,
			`{"ok":false,"error":{"message":"Internal Error","code":"INTERNAL_ERROR"}}`, 500},
		{"typed 500 with undefined data", HandlerError{Message: []byte("m"), ID: []byte("app.errors.x"), Data: undef, DataUndefined: true},
			`{"ok":false,"error":{"code":500,"message":"m","codeName":"INTERNAL_ERROR","id":"app.errors.x"}}`,
			`{"ok":false,"error":{"message":"m","code":"INTERNAL_ERROR","id":"app.errors.x"}}`, 500},
		{"typed 404", HandlerError{Status: 404, Message: []byte("nope"), ID: []byte("app.errors.missing"), Data: []byte(`{"k":1}`), HTTPCode: 404},
			`{"ok":false,"error":{"code":404,"message":"nope","codeName":"INTERNAL_ERROR","id":"app.errors.missing","data":{"k":1},"httpCode":404}}`,
			`{"ok":false,"error":{"message":"nope","code":"INTERNAL_ERROR","id":"app.errors.missing","data":{"k":1},"httpCode":404}}`, 404},
		{"custom code", HandlerError{Status: 400, Code: []byte("PARALLEL_EVENT_RETURN_UNSUPPORTED"), Message: []byte("no")},
			`{"ok":false,"error":{"code":400,"message":"no","codeName":"PARALLEL_EVENT_RETURN_UNSUPPORTED"}}`,
			`{"ok":false,"error":{"message":"no","code":"PARALLEL_EVENT_RETURN_UNSUPPORTED"}}`, 400},
		{"status out of range", HandlerError{Status: 42, Message: []byte("x")},
			`{"ok":false,"error":{"code":500,"message":"x","codeName":"INTERNAL_ERROR"}}`,
			`{"ok":false,"error":{"message":"Internal Error","code":"INTERNAL_ERROR"}}`, 500},
	}
	for _, c := range cases {
		body, status := handlerError(seed, c.e)
		assert.Equal(t, c.seedBody, body, c.name)
		assert.Equal(t, c.status, status, c.name)
		body, status = handlerError(runner, c.e)
		assert.Equal(t, c.runnerBody, body, c.name)
		assert.Equal(t, c.status, status, c.name)
	}
}

func TestAppendAllocatesNothing(t *testing.T) {
	d := For(true)
	buf := make([]byte, 0, 512)
	msg := make([]byte, 0, 64)
	e := HandlerError{Status: 404, Message: []byte("m"), ID: []byte("id"), Data: []byte("1"), HTTPCode: 404}
	allocs := testing.AllocsPerRun(100, func() {
		msg = d.AppendMessage(msg[:0], TaskNotFound, []byte("x"))
		buf, _ = d.AppendFailure(buf[:0], TaskNotFound, msg)
		buf, _ = d.AppendHandlerError(buf[:0], &e)
	})
	assert.Zero(t, allocs)
}
