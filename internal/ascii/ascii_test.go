package ascii

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHexDigit(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := -1
		switch {
		case c >= '0' && c <= '9':
			want = c - '0'
		case c >= 'a' && c <= 'f':
			want = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			want = c - 'A' + 10
		}
		assert.Equal(t, want, HexDigit(byte(c)), "byte %d", c)
	}
}

// The classes, byte by byte, against RFC 9110's definitions written out another way.
func TestHTTPClasses(t *testing.T) {
	const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := 0; c < 256; c++ {
		b := byte(c)
		isT := false
		for i := 0; i < len(tchars); i++ {
			isT = isT || tchars[i] == b
		}
		assert.Equal(t, isT, IsTchar(b), "tchar %#x", c)
		vchar := c >= 0x21 && c <= 0x7e
		assert.Equal(t, b == '\t' || b == ' ' || vchar || c >= 0x80, IsFieldByte(b), "field byte %#x", c)
	}
	assert.True(t, IsToken("x-custom"))
	assert.True(t, IsToken([]byte("Content-Type")))
	for _, bad := range []string{"", "a b", "a:b", "a\x00b", "é", "a\r\n"} {
		assert.False(t, IsToken(bad), "%q", bad)
	}
	assert.True(t, IsFieldValue(""))
	assert.True(t, IsFieldValue("a\tb c \x80\xff"))
	for _, bad := range []string{"a\x00", "\r", "\n", "a\x1b", "\x7f", "a\x01b"} {
		assert.False(t, IsFieldValue([]byte(bad)), "%q", bad)
	}
}
