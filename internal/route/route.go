// Package route maps a raw request path to what it addresses under the base path:
// {base}/task/{id}, {base}/event/{id} or {base}/discovery.
package route

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"github.com/bluelibs/runner-native/internal/ascii"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Kind is what a path addresses. Task and Event are the one task/event kind of the
// whole server: the registry's, the call's (server.Op is this type) and, by value, the
// bridge's record kinds (wire.KindTask, wire.KindEvent), decoded by FromWire only.
type Kind uint8

// The kinds of route.
const (
	None      Kind = 0
	Task      Kind = wire.KindTask
	Event     Kind = wire.KindEvent
	Discovery Kind = 0x80 // answered by Go: never crosses the bridge, distinct from every wire kind
)

// FromWire decodes a registration's kind byte (wire.KindTask or wire.KindEvent); any
// other byte is None.
func FromWire(b byte) Kind {
	switch b {
	case wire.KindTask:
		return Task
	case wire.KindEvent:
		return Event
	}
	return None
}

// Errors returned by Parse.
var (
	// ErrNotFound: the path is outside the base path, unknown under it, or has an empty id.
	ErrNotFound = errors.New("no route for this path")
	// ErrBadEscape: the id holds a '%' not followed by two hex digits.
	ErrBadEscape = errors.New("malformed percent-encoding in id")
	// ErrBadUTF8: the decoded id is not valid UTF-8.
	ErrBadUTF8 = errors.New("id is not valid UTF-8")
)

var (
	taskPrefix  = []byte("/task/")
	eventPrefix = []byte("/event/")
	discovery   = []byte("/discovery")
)

// Parse resolves path (the raw path of the request target, without the query string)
// under base (normalised: "" or "/x" with no trailing slash). For tasks and events it
// percent-decodes the id into dst[:0] and returns it; the result aliases dst's array
// when it fits, so a pooled dst makes Parse allocation-free.
func Parse(dst, path []byte, base string) (Kind, []byte, error) {
	if len(path) < len(base) || string(path[:len(base)]) != base {
		return None, nil, ErrNotFound
	}
	rest := path[len(base):]
	var kind Kind
	switch {
	case bytes.HasPrefix(rest, taskPrefix):
		kind, rest = Task, rest[len(taskPrefix):]
	case bytes.HasPrefix(rest, eventPrefix):
		kind, rest = Event, rest[len(eventPrefix):]
	case bytes.Equal(rest, discovery):
		return Discovery, nil, nil
	default:
		return None, nil, ErrNotFound
	}
	if len(rest) == 0 {
		return None, nil, ErrNotFound
	}
	id, err := Unescape(dst[:0], rest)
	if err != nil {
		return None, nil, err
	}
	return kind, id, nil
}

// Unescape appends the percent-decoded src to dst. '+' stays '+': this is a path, not a
// form. The result must be valid UTF-8.
func Unescape(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		if i+2 >= len(src) {
			return nil, ErrBadEscape
		}
		hi, lo := ascii.HexDigit(src[i+1]), ascii.HexDigit(src[i+2])
		if hi < 0 || lo < 0 {
			return nil, ErrBadEscape
		}
		dst = append(dst, byte(hi<<4|lo))
		i += 2
	}
	if !utf8.Valid(dst) {
		return nil, ErrBadUTF8
	}
	return dst, nil
}
