// Package envelope writes the JSON pieces every envelope is made of: {"ok":true},
// {"ok":true,"result":<raw JSON>} and escaped strings. The error envelopes differ by
// protocol and live in internal/protocol. Every function appends to a caller-owned
// buffer, so the hot path allocates nothing.
package envelope

import "unicode/utf8"

const (
	okEmpty  = `{"ok":true}`
	okResult = `{"ok":true,"result":`
)

// AppendOK appends {"ok":true}.
func AppendOK(dst []byte) []byte { return append(dst, okEmpty...) }

// AppendResult appends {"ok":true,"result":raw}. raw must be one valid JSON value; it is
// copied as is.
func AppendResult(dst, raw []byte) []byte {
	dst = append(dst, okResult...)
	dst = append(dst, raw...)
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes U+FFFD so the
// output is always valid JSON, whatever bytes a message carries.
func AppendString[T ~string | ~[]byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedASCII(dst, b)
			i++
			start = i
			continue
		}
		// Decode through a small array: utf8 has no generic decoder, and this copy
		// keeps both instantiations free of allocations.
		var rb [utf8.UTFMax]byte
		n := copy(rb[:], s[i:])
		r, size := utf8.DecodeRune(rb[:n])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedASCII(dst []byte, b byte) []byte {
	switch b {
	case '"', '\\':
		return append(dst, '\\', b)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
}
