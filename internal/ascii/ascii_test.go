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
