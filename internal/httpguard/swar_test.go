package httpguard

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The eight-bytes-at-a-time spans agree with the byte loop for every byte in every
// position.
func TestSpansMatchByteLoop(t *testing.T) {
	for c := 0; c < 256; c++ {
		for at := 0; at < 20; at++ {
			b := []byte("abcdefghijklmnopqrstuvwxyz")
			b[at] = byte(c)
			assert.Equal(t, span(b, cValue), valueSpan(b), "byte %#x at %d", c, at)
			assert.Equal(t, span(b, cTarget), targetSpan(b), "byte %#x at %d", c, at)
		}
	}
}
