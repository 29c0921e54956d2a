package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/wire"
)

// The oracles below restate RFC 9110 without internal/ascii, so the fuzz target checks
// the table, not the table against itself.
func oracleToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func oracleValue(b []byte) bool {
	for _, c := range b {
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}

// streamHead runs what writeStream does with the encoded headers and returns the head
// fasthttp would send, or ok false when the call is answered 500 instead.
func streamHead(payload []byte) (head []byte, msg []byte, ok bool) {
	msg, ok = checkStreamHeaders(nil, payload)
	if !ok {
		return nil, msg, false
	}
	var h fasthttp.ResponseHeader
	h.SetContentLength(-1)
	setStreamHeaders(&h, payload)
	return h.Header(), nil, true
}

// checkHead asserts that every line of head is a valid field line whose name and value
// the handler set (or the server's own framing and content type), and that no byte of
// it is a control but HTAB or the CRLFs that end lines.
func checkHead(t *testing.T, head []byte, pairs [][2][]byte) {
	lines := bytes.Split(bytes.TrimSuffix(head, []byte("\r\n\r\n")), []byte("\r\n"))
	for _, line := range lines[1:] {
		name, value, found := bytes.Cut(line, []byte(":"))
		if !assert.True(t, found, "a field line: %q", line) {
			continue
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		assert.True(t, oracleToken(name), "name %q", name)
		assert.True(t, oracleValue(value), "value %q", value)
		lower := strings.ToLower(string(name))
		if lower == "transfer-encoding" || lower == "content-type" || lower == "date" || lower == "server" {
			continue
		}
		set := false
		for _, p := range pairs {
			set = set || strings.EqualFold(string(p[0]), lower) && (bytes.Equal(p[1], value) || bytes.Equal(bytes.TrimSpace(p[1]), value))
		}
		assert.True(t, set, "%q was not set by the handler (set: %q)", line, pairs)
	}
}

func TestStreamHeadersRefusedAsNodeDoes(t *testing.T) {
	enc := func(kv ...string) []byte {
		var b []byte
		for i := 0; i < len(kv); i += 2 {
			b = wire.AppendHeader(b, []byte(kv[i]), []byte(kv[i+1]))
		}
		return b
	}
	for _, c := range []struct {
		payload []byte
		msg     string
	}{
		{enc("content-type", "text/plain", "content-disposition", "a\x00Refresh\x00 0"), `Invalid character in header content ["content-disposition"]`},
		{enc("content-type", "text/plain\r\nRefresh: 0"), `Invalid character in header content ["content-type"]`},
		{enc("content-type", "x", "x bad", "v"), `Header name must be a valid HTTP token ["x bad"]`},
		{enc("content-type", "x", "x-\xe9", "v"), "Header name must be a valid HTTP token [\"x-\u00e9\"]"},
		{enc("content-type", "x", "", "v"), `Header name must be a valid HTTP token [""]`},
		{append(enc("content-type", "x"), 9, 0, 0, 0, 'a'), "Invalid headers"},
	} {
		_, msg, ok := streamHead(c.payload)
		assert.False(t, ok)
		assert.Equal(t, c.msg, string(msg))
	}
	head, _, ok := streamHead(enc("content-type", "text/plain", "x-tab", "a\tb", "content-disposition", "attachment; filename=\"caf\xe9\"", "set-cookie", "s=1"))
	assert.True(t, ok)
	assert.Contains(t, string(head), "\r\nX-Tab: a\tb\r\n")
	assert.Contains(t, string(head), "filename=\"caf\xe9\"")
	assert.NotContains(t, strings.ToLower(string(head)), "set-cookie", "blocked, silently, as runner blocks it")
}

// FuzzStreamHeaders: whatever names and values a handler sets, the head sent carries
// only field lines it set, never a control byte; the call is refused exactly when a
// name is not a token or a value not a field-value.
func FuzzStreamHeaders(f *testing.F) {
	f.Add([]byte("content-disposition"), []byte("attachment; filename=\"a\x00Refresh\x00 0;url=x\""), []byte("x-ok"), []byte("1"), []byte{})
	f.Add([]byte("x-a"), []byte("a\r\nInjected: 1"), []byte("Refresh"), []byte("0"), []byte{})
	f.Add([]byte("x-a"), []byte("caf\xe9\t "), []byte("x b"), []byte("v"), []byte{})
	f.Add([]byte("content-type"), []byte("text/plain"), []byte("transfer-encoding"), []byte("identity"), []byte{1, 0, 0, 0, 'x'})
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, tail []byte) {
		pairs := [][2][]byte{{[]byte("content-type"), []byte("application/octet-stream")}, {n1, v1}, {n2, v2}}
		var payload []byte
		for _, p := range pairs {
			payload = wire.AppendHeader(payload, p[0], p[1])
		}
		payload = append(payload, tail...)
		// What the tail decodes to counts as set too (it is part of the payload).
		for rest := tail; len(rest) > 0; {
			name, value, next, ok := wire.NextHeader(rest)
			if !ok {
				break
			}
			pairs = append(pairs, [2][]byte{name, value})
			rest = next
		}
		head, _, ok := streamHead(payload)
		if len(tail) == 0 {
			valid := oracleToken(n1) && oracleValue(v1) && oracleToken(n2) && oracleValue(v2)
			if valid != ok {
				t.Fatalf("refused=%v for %q: %q, %q: %q", !ok, n1, v1, n2, v2)
			}
		}
		if ok {
			checkHead(t, head, pairs)
		}
	})
}
