package httpguard

import (
	"bytes"
	"encoding/binary"

	"github.com/bluelibs/runner-native/internal/ascii"
	"github.com/bluelibs/runner-native/internal/protocol"
)

// Byte classes and the checks of single lines: the request line, a header or trailer
// field line, and a chunk-size line. Each check takes the line without its CRLF and
// whether it is complete; an incomplete line (its CRLF has not arrived yet) is checked as
// far as it goes, so a bad byte is refused as soon as it arrives.

const (
	cTchar  = 1 << iota // token character (RFC 9110 5.6.2)
	cValue              // field-value byte: HTAB, SP, VCHAR, obs-text
	cTarget             // request-target byte: VCHAR
	cAuth               // authority byte of an absolute-form target, as llhttp allows it
	cHost               // Host field byte: unreserved, sub-delims, '%', ':', '[', ']'
	cHex                // hexadecimal digit
	cAlpha              // ALPHA
	cQdtext             // qdtext of a quoted-string
)

var class = func() (t [256]uint8) {
	set := func(bits uint8, chars string) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= bits
		}
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	const digit = "0123456789"
	set(cAlpha, alpha)
	set(cHex, digit+"abcdefABCDEF")
	set(cAuth, alpha+digit+"-_.!~*'()%;:&=+$,[]@")
	set(cHost, alpha+digit+"-._~!$&'()*+,;=%:[]")
	for c := 0; c < 256; c++ {
		// Tokens and field values: RFC 9110's classes, defined once in internal/ascii.
		if ascii.IsTchar(byte(c)) {
			t[c] |= cTchar
		}
		if ascii.IsFieldByte(byte(c)) {
			t[c] |= cValue
			if c != '"' && c != '\\' && c != 0x7f {
				t[c] |= cQdtext // qdtext: HTAB, SP, VCHAR but DQUOTE and backslash, obs-text
			}
		}
	}
	for c := 0x21; c <= 0x7e; c++ {
		t[c] |= cTarget
	}
	return t
}()

func is(c byte, bits uint8) bool { return class[c]&bits != 0 }

// span returns the length of the longest prefix of b whose bytes all are in bits.
func span(b []byte, bits uint8) int {
	for i, c := range b {
		if class[c]&bits == 0 {
			return i
		}
	}
	return len(b)
}

// Eight bytes at a time (SWAR) for the long runs: field values and targets.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// valueSpan is span(b, cValue), skipping eight bytes at a time while none is a control
// byte or DEL (HTAB falls back to the byte loop).
func valueSpan(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		y := x ^ 0x7f*ones
		if (x-0x20*ones)&^x&highs != 0 || (y-ones)&^y&highs != 0 {
			break // a byte below 0x20, or a DEL
		}
	}
	return i + span(b[i:], cValue)
}

// targetSpan is span(b, cTarget), eight bytes at a time while all are VCHAR.
func targetSpan(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if (x-0x21*ones)&^x&highs != 0 || (x+ones|x)&highs != 0 {
			break // a byte below 0x21, or above 0x7e
		}
	}
	return i + span(b[i:], cTarget)
}

// requestLine is what the request line says, once it is complete.
type requestLine struct {
	method, target []byte
	targetAt       int  // offset of target in the line
	minor          byte // HTTP/1.<minor>
}

// parseRequestLine checks method SP+ target SP+ version. SP runs are allowed, as llhttp
// allows them; the caller writes the line back with single spaces.
func parseRequestLine(line []byte, complete bool) (requestLine, *Rejection) {
	var rl requestLine
	i := span(line, cTchar)
	rl.method = line[:i]
	if i == len(line) {
		if complete {
			return rl, protocol.GuardRequestLine
		}
		return rl, nil
	}
	if i == 0 || line[i] != ' ' {
		return rl, protocol.GuardRequestLine
	}
	kind := methodKind(rl.method)
	for i < len(line) && line[i] == ' ' {
		i++
	}
	rl.targetAt = i
	i += targetSpan(line[i:])
	rl.target = line[rl.targetAt:i]
	// CONNECT's authority-form target is refused below with 501, not as a bad target.
	if kind != methodConnect && len(rl.target) > 0 && !is(rl.target[0], cAlpha) && rl.target[0] != '/' && rl.target[0] != '*' {
		return rl, protocol.GuardTarget
	}
	if i == len(line) {
		if complete {
			return rl, protocol.GuardNoVersion
		}
		return rl, nil
	}
	if line[i] != ' ' || len(rl.target) == 0 {
		return rl, protocol.GuardTarget // a control, non-ASCII or DEL byte in the target
	}
	if kind != methodConnect {
		if rej := checkTarget(rl.target); rej != nil {
			return rl, rej
		}
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	version := line[i:]
	const proto = "HTTP/M.m"
	for j := 0; j < len(version); j++ {
		c := version[j]
		switch {
		case j >= len(proto):
			return rl, protocol.GuardVersion
		case proto[j] == 'M' || proto[j] == 'm':
			if c < '0' || c > '9' {
				return rl, protocol.GuardVersion
			}
		case c != proto[j]:
			return rl, protocol.GuardVersion
		}
	}
	if !complete {
		return rl, nil
	}
	if len(version) != len(proto) {
		return rl, protocol.GuardVersion
	}
	if version[5] != '1' || version[7] > '1' {
		return rl, protocol.GuardVersionUnsupported // before the rest: the HTTP/2 preface gets 505
	}
	rl.minor = version[7] - '0'
	switch {
	case kind == methodConnect:
		return rl, protocol.GuardConnect
	case kind == methodUnknown:
		return rl, protocol.GuardMethod
	case string(rl.target) == "*" && string(rl.method) != "OPTIONS":
		return rl, protocol.GuardTarget // asterisk-form is for OPTIONS only (RFC 9112 3.2.4)
	}
	return rl, nil
}

// checkTarget checks the shape of a whole request-target whose bytes are all VCHAR:
// origin-form starts with '/'; asterisk-form is "*" alone, for OPTIONS (RFC 9112
// 3.2.4; llhttp allows more, fasthttp refuses it); absolute-form is
// scheme "://" authority [ path-abempty [ "?" query ] ], with an ALPHA-only scheme and
// the authority bytes llhttp accepts.
func checkTarget(t []byte) *Rejection {
	switch t[0] {
	case '/':
		return nil
	case '*':
		if len(t) == 1 { // and the method is OPTIONS: checked once the line is whole
			return nil
		}
		return protocol.GuardTarget
	}
	i := span(t, cAlpha)
	if len(t)-i < 3 || string(t[i:i+3]) != "://" {
		return protocol.GuardTarget
	}
	auth := t[i+3:]
	n := span(auth, cAuth)
	if n < len(auth) && auth[n] != '/' && auth[n] != '?' {
		return protocol.GuardTarget
	}
	for j := 1; j < n; j++ {
		if auth[j] == '@' && auth[j-1] == '@' {
			return protocol.GuardTarget
		}
	}
	return nil
}

type method uint8

const (
	methodUnknown method = iota
	methodKnown
	methodConnect
)

// methodKind sorts a method token. The known methods are the HTTP methods of llhttp,
// which Node serves; CONNECT is known but this server is no proxy.
func methodKind(m []byte) method {
	switch string(m) {
	case "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE",
		"LINK", "UNLINK", "COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH",
		"SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY",
		"CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE",
		"MKCALENDAR", "PURGE", "QUERY", "SOURCE":
		return methodKnown
	case "CONNECT":
		return methodConnect
	}
	return methodUnknown
}

// parseField checks a field line (header or trailer): a token name, a colon right
// after it, and field-value bytes. It returns the name and the raw value (everything
// after the colon).
func parseField(line []byte, complete bool) (name, value []byte, rej *Rejection) {
	if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
		return nil, nil, protocol.GuardObsFold
	}
	i := span(line, cTchar)
	name = line[:i]
	if i == len(line) {
		if complete {
			return name, nil, protocol.GuardFieldName
		}
		return name, nil, nil
	}
	if i == 0 || line[i] != ':' {
		return name, nil, protocol.GuardFieldName
	}
	value = line[i+1:]
	if valueSpan(value) != len(value) {
		return name, nil, protocol.GuardFieldValue
	}
	return name, value, nil
}

var comma = []byte(",")

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// maxChunkSize bounds a chunk so that sizes stay within an int64.
const maxChunkSize = 1<<63 - 1

// parseChunkLine checks chunk-size [ chunk-ext ] with llhttp's strict grammar: hex
// digits, then extensions ";" name [ "=" ( token / quoted-string ) ] with no
// whitespace anywhere, and returns the size.
func parseChunkLine(line []byte, complete bool) (uint64, bool, *Rejection) {
	var size uint64
	i := 0
	for ; i < len(line) && is(line[i], cHex); i++ {
		if size > maxChunkSize>>4 {
			return 0, false, protocol.GuardChunkSize
		}
		size = size<<4 | uint64(unhex(line[i]))
	}
	if i == 0 && (complete || len(line) > 0) {
		return 0, false, protocol.GuardChunkSize
	}
	if i == len(line) {
		return size, false, nil
	}
	if line[i] != ';' {
		return 0, false, protocol.GuardChunkSize
	}
	if rej := checkChunkExt(line[i:], complete); rej != nil {
		return 0, false, rej
	}
	return size, true, nil
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// checkChunkExt checks a run of chunk extensions, starting at its first ';'.
func checkChunkExt(ext []byte, complete bool) *Rejection {
	i := 0
	for i < len(ext) { // at a ';'
		i++
		if i == len(ext) {
			break
		}
		if ext[i] == ' ' {
			return protocol.GuardChunkExt
		}
		i += span(ext[i:], cTchar)
		if i == len(ext) || ext[i] == ';' {
			continue
		}
		if ext[i] != '=' {
			return protocol.GuardChunkExt
		}
		i++
		if i < len(ext) && ext[i] == '"' {
			closed := false
			for i++; i < len(ext) && !closed; i++ {
				switch c := ext[i]; {
				case c == '"':
					closed = true
				case c == '\\':
					if i++; i < len(ext) && !is(ext[i], cValue) {
						return protocol.GuardChunkExt
					}
				case !is(c, cQdtext):
					return protocol.GuardChunkExt
				}
			}
			if !closed {
				if complete {
					return protocol.GuardChunkExt
				}
				return nil
			}
		} else {
			i += span(ext[i:], cTchar)
		}
		if i < len(ext) && ext[i] != ';' {
			return protocol.GuardChunkExt
		}
	}
	if complete && ext[len(ext)-1] == ';' {
		return protocol.GuardChunkExt // a ';' right before the CRLF
	}
	return nil
}

// equalFold reports whether the token b equals lower, a lower-case constant, ignoring
// ASCII case. (For token bytes, c|0x20 is a lower-case letter only if c is a letter.)
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i]|0x20 != lower[i] && b[i] != lower[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds tok (lower case), ignoring
// case and whitespace around elements.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var elem []byte
		elem, v, _ = bytes.Cut(v, comma)
		if equalFold(trimOWS(elem), tok) {
			return true
		}
	}
	return false
}

// has100Continue matches Node's test of Expect: "100-continue" in any case, not
// preceded or followed by a word character.
func has100Continue(v []byte) bool {
	const want = "100-continue"
	for i := 0; i+len(want) <= len(v); i++ {
		if equalFold(v[i:i+len(want)], want) &&
			(i == 0 || !isWord(v[i-1])) &&
			(i+len(want) == len(v) || !isWord(v[i+len(want)])) {
			return true
		}
	}
	return false
}

func isWord(c byte) bool { return c == '_' || c >= '0' && c <= '9' || is(c, cAlpha) }

// parseLength reads a Content-Length value as llhttp does: whitespace, digits, then
// spaces only. Values beyond an int64 are refused.
func parseLength(v []byte) (uint64, bool) {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	var n uint64
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if n > (maxChunkSize-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(v[i]-'0')
	}
	if i == 0 {
		return 0, false
	}
	for ; i < len(v); i++ {
		if v[i] != ' ' {
			return 0, false
		}
	}
	return n, true
}

// validHost checks a Host value: uri-host [ ":" port ] (RFC 9112 3.2). The host may be
// an IP literal in brackets or a reg-name (which covers IPv4); it may not be empty, as an
// "http" URI's host may not be (RFC 9110 4.2.1).
func validHost(v []byte) bool {
	i := 0
	if len(v) > 0 && v[0] == '[' {
		j := bytes.IndexByte(v, ']')
		if j < 2 {
			return false
		}
		for _, c := range v[1:j] {
			if !is(c, cHost) || c == '[' {
				return false
			}
		}
		i = j + 1
	} else {
		for i < len(v) && v[i] != ':' {
			if !is(v[i], cHost) || v[i] == '[' || v[i] == ']' {
				return false
			}
			i++
		}
		if i == 0 {
			return false
		}
	}
	if i == len(v) {
		return true
	}
	if v[i] != ':' {
		return false
	}
	for _, c := range v[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
