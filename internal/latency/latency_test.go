package latency

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserveCountsEachDurationInItsBucket(t *testing.T) {
	cases := []struct {
		name   string
		d      time.Duration
		bucket int
	}{
		{"zero", 0, 0},
		{"negative (a clock step)", -time.Second, 0},
		{"below the first bound", 40 * time.Microsecond, 0},
		{"on the first bound (inclusive)", 100 * time.Microsecond, 0},
		{"just past the first bound", 101 * time.Microsecond, 1},
		{"on 1 ms", time.Millisecond, 3},
		{"1.2 ms", 1200 * time.Microsecond, 4},
		{"on the last bound", 10 * time.Second, len(Bounds) - 1},
		{"past the last bound", time.Minute, len(Bounds)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var h Histogram
			h.Observe(tc.d)
			got := h.AppendTo(nil)
			require.Len(t, got, 1+Buckets)
			want := make([]uint64, Buckets)
			want[tc.bucket] = 1
			assert.Equal(t, want, got[1:], "bucket counts")
			us := uint64(0)
			if tc.d > 0 {
				us = uint64(tc.d / time.Microsecond)
			}
			assert.Equal(t, us, got[0], "sum")
		})
	}
}

func TestBoundsAscend(t *testing.T) {
	for i := 1; i < len(Bounds); i++ {
		assert.Less(t, Bounds[i-1], Bounds[i], "bound %d", i)
	}
}

func TestConcurrentObservationsAreAllCounted(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Observe(time.Duration(g*1000+i) * time.Microsecond)
			}
		}(g)
	}
	wg.Wait()
	got := h.AppendTo(nil)
	total := uint64(0)
	for _, n := range got[1:] {
		total += n
	}
	assert.Equal(t, uint64(8000), total)
	assert.Equal(t, uint64(8000*7999/2), got[0], "sum of 0..7999 µs")
}

func TestObserveDoesNotAllocate(t *testing.T) {
	var h Histogram
	allocs := testing.AllocsPerRun(100, func() { h.Observe(3 * time.Millisecond) })
	assert.Zero(t, allocs)
}
