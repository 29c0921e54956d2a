// Package envelope writes the protocol's JSON envelopes:
//
//	{"ok":true}
//	{"ok":true,"result":<raw JSON>}
//	{"ok":false,"error":{"code":<status>,"message":"...","codeName":"..."}}
//
// Every function appends to a caller-owned buffer, so the hot path allocates nothing.
package envelope

import (
	"strconv"
	"unicode/utf8"
)

// Code is one failure of the protocol: the HTTP status it is answered with and its
// stable machine-readable name.
type Code struct {
	Status int
	Name   string
}

// The error codes of the protocol. Status is also the HTTP status of the response.
var (
	BadRequest       = Code{400, "BAD_REQUEST"}
	InvalidJSON      = Code{400, "INVALID_JSON"}
	Unauthorized     = Code{401, "UNAUTHORIZED"}
	NotFound         = Code{404, "NOT_FOUND"}
	MethodNotAllowed = Code{405, "METHOD_NOT_ALLOWED"}
	RequestTimeout   = Code{408, "REQUEST_TIMEOUT"}
	PayloadTooLarge  = Code{413, "PAYLOAD_TOO_LARGE"}
	HeadersTooLarge  = Code{431, "HEADERS_TOO_LARGE"}
	Internal         = Code{500, "INTERNAL_ERROR"}
	Unavailable      = Code{503, "SERVICE_UNAVAILABLE"}
	Timeout          = Code{504, "TIMEOUT"}
)

// IsZero reports whether c is the zero Code, which means "no error".
func (c Code) IsZero() bool { return c.Status == 0 }

const (
	okEmpty    = `{"ok":true}`
	okResult   = `{"ok":true,"result":`
	errPrefix  = `{"ok":false,"error":{"code":`
	errMessage = `,"message":`
	errName    = `,"codeName":"`
	errSuffix  = `"}}`
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

// AppendError appends the error envelope for c with the given message.
func AppendError[T ~string | ~[]byte](dst []byte, c Code, message T) []byte {
	dst = append(dst, errPrefix...)
	dst = strconv.AppendInt(dst, int64(c.Status), 10)
	dst = append(dst, errMessage...)
	dst = AppendString(dst, message)
	dst = append(dst, errName...)
	dst = append(dst, c.Name...) // names are plain ASCII constants: no escaping needed
	return append(dst, errSuffix...)
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
