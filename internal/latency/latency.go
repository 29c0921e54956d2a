// Package latency keeps a histogram of request durations: fixed buckets and lock-free
// counters, cheap enough to run on every request (two atomic adds), read at any time
// without stopping the writers.
package latency

import (
	"sync/atomic"
	"time"
)

// Bounds are the inclusive upper bounds of the buckets, in microseconds (a duration
// equal to a bound counts in its bucket, as Prometheus' "le" does); a last bucket takes
// everything longer. They span what an HTTP answer takes, from a cached answer on
// loopback (0.1 ms) to a slow stream (10 s). internal/wire hands them to JavaScript.
var Bounds = [...]uint64{
	100, 250, 500,
	1_000, 2_500, 5_000,
	10_000, 25_000, 50_000,
	100_000, 250_000, 500_000,
	1_000_000, 2_500_000, 5_000_000,
	10_000_000,
}

// Buckets is the number of counters of a histogram: one per bound and one past the last.
const Buckets = len(Bounds) + 1

// Histogram counts durations by bucket. The zero value is ready to use; it must not be
// copied once used.
type Histogram struct {
	counts [Buckets]atomic.Uint64
	sum    atomic.Uint64 // microseconds
}

// Observe counts one duration (a negative one, from a clock step, counts as zero).
func (h *Histogram) Observe(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.counts[bucket(us)].Add(1)
	h.sum.Add(us)
}

// bucket returns the index of the first bound at least us (Buckets-1 past the last):
// a binary search over the few bounds, without allocating.
func bucket(us uint64) int {
	lo, hi := 0, len(Bounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if Bounds[mid] < us {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// AppendTo appends the sum of every duration (microseconds), then the count of each
// bucket (not cumulative), to dst. Each value is read atomically; the whole is not a
// snapshot, as observations may land between two reads.
func (h *Histogram) AppendTo(dst []uint64) []uint64 {
	dst = append(dst, h.sum.Load())
	for i := range h.counts {
		dst = append(dst, h.counts[i].Load())
	}
	return dst
}
