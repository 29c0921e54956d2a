package bridge

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/wire"
)

// White-box tests of an answer stream's ring: what JavaScript pushes comes out byte for
// byte, in as few writes as it allows, with credit for what was written, and a push
// past the window fails the stream instead of overwriting bytes not yet written.

// writes records each Write it gets (a copy), as fasthttp's chunk writer sees them.
type writes struct{ got [][]byte }

func (w *writes) Write(b []byte) (int, error) {
	w.got = append(w.got, append([]byte(nil), b...))
	return len(b), nil
}

func newTestStream() (*Port, *respStream) {
	p := NewPort(func() {}, Options{}, &Stats{})
	return p, newRespStream(p, &waiter{id: 7}, nil, 0)
}

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*seed + i>>8)
	}
	return b
}

// credited sums the credit records queued for JavaScript.
func credited(p *Port) (total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.credits {
		total += int(c.n)
	}
	return total
}

func TestRingWritesWhatIsQueuedAtOnce(t *testing.T) {
	p, s := newTestStream()
	a, b, c := pattern(10_000, 3), pattern(20_000, 5), pattern(30_000, 7)
	s.push(a)
	s.push(b)
	s.push(c)
	s.end(false)
	var w writes
	n, err := s.WriteTo(&w)
	require.NoError(t, err)
	assert.Equal(t, int64(60_000), n)
	require.Len(t, w.got, 1, "three queued pieces leave as one write (one chunk on the wire)")
	assert.True(t, bytes.Equal(append(append(append([]byte(nil), a...), b...), c...), w.got[0]))
	assert.Equal(t, 60_000, credited(p), "every written byte is credited back")
	assert.Equal(t, uint64(0), p.stats.StreamErrors.Load())
}

func TestRingWrapsAroundByteExact(t *testing.T) {
	p, s := newTestStream()
	var want, got []byte
	buf := make([]byte, 50_000)
	// Pieces of uneven sizes, read in uneven sizes, so that both ends cross the ring's end.
	for i := 0; i < 40; i++ {
		piece := pattern(17_000+i*991, i+1)
		s.push(piece)
		want = append(want, piece...)
		for len(got)+len(buf) <= len(want) {
			n, err := s.Read(buf[:len(buf)-i*97])
			require.NoError(t, err)
			got = append(got, buf[:n]...)
		}
	}
	s.end(false)
	rest, err := io.ReadAll(s)
	require.NoError(t, err)
	got = append(got, rest...)
	assert.True(t, bytes.Equal(want, got), "%d bytes in, %d out", len(want), len(got))
	assert.Equal(t, len(want), credited(p))
}

func TestRingEndsWithEOFOnlyWhenEmpty(t *testing.T) {
	_, s := newTestStream()
	s.push([]byte("last bytes"))
	s.end(false)
	b := make([]byte, 4)
	n, err := s.Read(b)
	require.NoError(t, err)
	assert.Equal(t, "last", string(b[:n]))
	rest, err := io.ReadAll(s)
	require.NoError(t, err)
	assert.Equal(t, " bytes", string(rest))
}

func TestRingFailureComesAfterTheBytesBeforeIt(t *testing.T) {
	p, s := newTestStream()
	s.push([]byte("partial"))
	s.end(true)
	var w writes
	_, err := s.WriteTo(&w)
	assert.ErrorIs(t, err, errStreamFailed)
	require.Len(t, w.got, 1)
	assert.Equal(t, "partial", string(w.got[0]))
	assert.Equal(t, uint64(1), p.stats.StreamErrors.Load())
}

func TestRingOverflowFailsTheStream(t *testing.T) {
	p, s := newTestStream()
	s.push(pattern(wire.StreamWindow-10, 3))
	s.push(pattern(11, 5)) // one byte past the window: JavaScript broke the protocol
	s.push([]byte("ignored"))
	var w writes
	_, err := s.WriteTo(&w)
	assert.ErrorIs(t, err, errStreamFailed)
	total := 0
	for _, b := range w.got {
		total += len(b)
	}
	assert.Equal(t, wire.StreamWindow-10, total, "the bytes within the window are written, nothing after")
	assert.Equal(t, uint64(1), p.stats.StreamErrors.Load())
}

func TestRingAbortStopsAtOnceAndReleases(t *testing.T) {
	_, s := newTestStream()
	s.push(pattern(1000, 3))
	s.abort(0)
	_, err := s.WriteTo(&writes{})
	assert.ErrorIs(t, err, errStreamAborted, "bytes not yet written are dropped")
	require.NoError(t, s.Close())
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Nil(t, s.ring, "the ring went back to the pool")
}
