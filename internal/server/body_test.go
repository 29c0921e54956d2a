package server

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The body buffer grows with the bytes received: it doubles only once full, and never
// past the announced size or the limit (plus the byte that shows the end or the excess).
func TestBodyBufferGrowsWithBytesReceived(t *testing.T) {
	const limit = 10 << 20
	for _, size := range []int{-1, 100, 10 << 20} { // chunked, small, and a claim of 10 MiB
		var buf []byte
		for received := 0; received <= 64<<10 && (size < 0 || received <= size); received = len(buf) {
			buf = growBody(buf[:len(buf):len(buf)], size, limit)
			assert.LessOrEqual(t, cap(buf), max(2*received, minBodyBuf), "size %d, %d received", size, received)
			if size >= 0 {
				assert.LessOrEqual(t, cap(buf), size+1)
			}
			assert.Greater(t, cap(buf), received, "room for more")
			buf = buf[:cap(buf)] // filled
		}
	}
	assert.Equal(t, 101, cap(growBody(make([]byte, 100), -1, 100)), "at the limit: one byte to see the excess")
}
