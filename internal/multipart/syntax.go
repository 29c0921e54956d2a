package multipart

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/bluelibs/runner-native/internal/ascii"
)

// The header and parameter syntax of busboy 1.6 (lib/utils.js, lib/types/multipart.js),
// ported rule for rule: header values are Latin-1 text (every byte one character), as
// Node hands them to busboy.

// ContentType is a parsed Content-Type: type and subtype lower-cased, parameters with
// lower-cased names (the first of a repeated one wins).
type ContentType struct {
	Type, Subtype []byte
	Params        map[string][]byte
}

// ParseContentType is busboy's parseContentType; ok false when busboy finds it malformed.
func ParseContentType(s []byte) (ct ContentType, ok bool) {
	if len(s) == 0 {
		return ct, false
	}
	i := 0
	for ; i < len(s); i++ {
		if !ascii.IsTchar(s[i]) {
			if s[i] != '/' || i == 0 {
				return ct, false
			}
			break
		}
	}
	if i == len(s) {
		return ct, false // a type without a subtype
	}
	ct.Type = bytes.ToLower(s[:i])
	start := i + 1
	i = start
	ct.Params = map[string][]byte{}
	for ; i < len(s); i++ {
		if !ascii.IsTchar(s[i]) {
			if i == start {
				return ct, false
			}
			if !params(s, i, ct.Params) {
				return ct, false
			}
			break
		}
	}
	if i == start {
		return ct, false
	}
	ct.Subtype = bytes.ToLower(s[start:i])
	return ct, true
}

// Disposition is a parsed Content-Disposition: its type, and its parameters; an
// extended one (name*) keeps its charset apart, its value percent-decoded.
type Disposition struct {
	Type    []byte
	Params  map[string][]byte
	Charset map[string][]byte // extended parameters only
}

// ParseDisposition is busboy's parseDisposition with no default parameter charset (how
// runner creates busboy): ok false when malformed.
func ParseDisposition(s []byte) (d Disposition, ok bool) {
	if len(s) == 0 {
		return d, false
	}
	d.Params = map[string][]byte{}
	d.Charset = map[string][]byte{}
	i := 0
	for ; i < len(s); i++ {
		if !ascii.IsTchar(s[i]) {
			if !dispositionParams(s, i, &d) {
				return d, false
			}
			break
		}
	}
	d.Type = bytes.ToLower(s[:i])
	return d, true
}

// params is busboy's parseContentTypeParams: reads "; name=value" pairs from s[i:].
func params(s []byte, i int, out map[string][]byte) bool {
	for i < len(s) {
		i = skipWS(s, i)
		if i == len(s) {
			break
		}
		if s[i] != ';' {
			return false
		}
		i = skipWS(s, i+1)
		if i == len(s) {
			return false
		}
		nameStart := i
		for ; i < len(s); i++ {
			if !ascii.IsTchar(s[i]) {
				if s[i] != '=' {
					return false
				}
				break
			}
		}
		if i == len(s) {
			return false
		}
		name := s[nameStart:i]
		i++
		if i == len(s) {
			return false
		}
		var value []byte
		var good bool
		value, i, good = paramValue(s, i)
		if !good {
			return false
		}
		key := string(bytes.ToLower(name))
		if _, seen := out[key]; !seen {
			out[key] = value
		}
	}
	return true
}

// paramValue reads a quoted string or a token at s[i:] (busboy's rules: a backslash
// escapes the next character, controls other than tab end nothing but are refused).
func paramValue(s []byte, i int) ([]byte, int, bool) {
	if s[i] == '"' {
		i++
		valueStart := i
		var value []byte
		escaping := false
		for ; i < len(s); i++ {
			c := s[i]
			if c == '\\' {
				if escaping {
					valueStart = i
					escaping = false
				} else {
					value = append(value, s[valueStart:i]...)
					escaping = true
				}
				continue
			}
			if c == '"' {
				if escaping {
					valueStart = i
					escaping = false
					continue
				}
				value = append(value, s[valueStart:i]...)
				break
			}
			if escaping {
				valueStart = i - 1
				escaping = false
			}
			if !ascii.IsQDText(c) {
				return nil, i, false
			}
		}
		if i == len(s) {
			return nil, i, false // no closing quote
		}
		if value == nil {
			value = []byte{}
		}
		return value, i + 1, true
	}
	valueStart := i
	for ; i < len(s); i++ {
		if !ascii.IsTchar(s[i]) {
			if i == valueStart {
				return nil, i, false
			}
			break
		}
	}
	return s[valueStart:i], i, true
}

// dispositionParams is busboy's parseDispositionParams.
func dispositionParams(s []byte, i int, d *Disposition) bool {
	for i < len(s) {
		i = skipWS(s, i)
		if i == len(s) {
			break
		}
		if s[i] != ';' {
			return false
		}
		i = skipWS(s, i+1)
		if i == len(s) {
			return false
		}
		nameStart := i
		for ; i < len(s); i++ {
			if !ascii.IsTchar(s[i]) {
				if s[i] == '=' {
					break
				}
				return false
			}
		}
		if i == len(s) {
			return false
		}
		name := s[nameStart:i]
		var value, charset []byte
		if len(name) > 0 && name[len(name)-1] == '*' { // busboy: an empty name is a plain parameter
			// Extended value: charset'language'percent-encoded
			i++
			charsetStart := i
			for ; i < len(s); i++ {
				if !ascii.IsCharsetChar(s[i]) {
					if s[i] != '\'' {
						return false
					}
					break
				}
			}
			if i == len(s) {
				return false
			}
			charset = s[charsetStart:i]
			i++
			for ; i < len(s) && s[i] != '\''; i++ {
			}
			if i == len(s) {
				return false
			}
			i++
			if i == len(s) {
				return false
			}
			value = []byte{}
			valueStart := i
			for ; i < len(s); i++ {
				c := s[i]
				if ascii.IsAttrChar(c) {
					continue
				}
				if c == '%' {
					if i+2 < len(s) && ascii.HexDigit(s[i+1]) >= 0 && ascii.HexDigit(s[i+2]) >= 0 {
						value = append(value, s[valueStart:i]...)
						value = append(value, byte(ascii.HexDigit(s[i+1])<<4|ascii.HexDigit(s[i+2])))
						i += 2
						valueStart = i + 1
						continue
					}
					return false
				}
				break
			}
			value = append(value, s[valueStart:i]...)
			if len(value) > 0 && charsetOf(charset) == csOther {
				// busboy 1.6 decodes other charsets with a TextDecoder built from the
				// wrong `this` (an arrow function), which always throws: the value
				// is undefined and the whole disposition malformed, so the part is
				// skipped, whatever the runtime's TextDecoder would accept.
				return false
			}
		} else {
			i++
			if i == len(s) {
				return false
			}
			var good bool
			value, i, good = paramValue(s, i)
			if !good {
				return false
			}
		}
		key := string(bytes.ToLower(name))
		if _, seen := d.Params[key]; !seen {
			d.Params[key] = value
			if charset != nil {
				d.Charset[key] = charset
			}
		}
	}
	return true
}

func skipWS(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// Charsets. busboy decodes with its own decoders for these; for any other name its
// decoder fails (see dispositionParams), so a non-empty extended parameter in another
// charset makes the disposition malformed, and a field in another charset is undefined
// (ToUTF8).
type charsetKind uint8

const (
	csOther charsetKind = iota
	csUTF8
	csLatin1
	csUTF16LE
	csBase64
)

func charsetOf(name []byte) charsetKind {
	switch string(bytes.ToLower(name)) {
	case "utf-8", "utf8":
		return csUTF8
	case "latin1", "ascii", "us-ascii", "iso-8859-1", "iso8859-1", "iso88591", "iso_8859-1",
		"windows-1252", "iso_8859-1:1987", "cp1252", "x-cp1252":
		return csLatin1
	case "utf16le", "utf-16le", "ucs2", "ucs-2":
		return csUTF16LE
	case "base64":
		return csBase64
	}
	return csOther
}

// ToUTF8 converts a field's text in charset (its part's Content-Type charset, lower
// case; empty: UTF-8) to UTF-8, as busboy's convertToUTF8 does. In a charset outside
// busboy's families its decoder fails and busboy emits the value undefined, which
// runner reads as the text "undefined": so does this (empty text stays empty, as
// busboy does not decode it).
func ToUTF8(text, charset []byte) []byte {
	if len(charset) == 0 || len(text) == 0 {
		return text
	}
	switch charsetOf(charset) {
	case csUTF8:
		return text
	case csLatin1:
		return latin1ToUTF8(text)
	case csUTF16LE:
		u := make([]uint16, len(text)/2)
		for i := range u {
			u[i] = uint16(text[2*i]) | uint16(text[2*i+1])<<8
		}
		return []byte(string(utf16.Decode(u)))
	case csBase64:
		return []byte(base64Std(text))
	}
	return []byte("undefined")
}

func latin1ToUTF8(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/2)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

func base64Std(b []byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out := make([]byte, 0, (len(b)+2)/3*4)
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			v <<= 8
			if j < n {
				v |= uint32(b[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= n {
				out = append(out, alphabet[v>>(18-6*j)&63])
			} else {
				out = append(out, '=')
			}
		}
	}
	return string(out)
}
