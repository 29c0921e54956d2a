package bridge

import (
	"sync"
	"sync/atomic"

	"github.com/bluelibs/runner-native/internal/wire"
)

// maxAccessBytes bounds the access records waiting for JavaScript (about 10,000
// requests): past it, records are dropped and counted, never queued, so a JavaScript
// thread that falls behind costs a bounded amount of memory.
const maxAccessBytes = 1 << 20

// accessLog holds the access records (wire.Access) of a pool's answered requests until
// JavaScript takes them: whichever of its ports exchanges next takes every record that
// fits, in one notice record (wire.NoticeAccess). Records ride along with exchanges that
// happen anyway; an idle thread is woken for them by its watcher, at most a tick later,
// so the log never adds a wake-up per request.
type accessLog struct {
	mu      sync.Mutex
	buf     []byte
	count   uint32 // records in buf
	dropped uint32 // records dropped since the last batch was taken
	size    atomic.Int64
	takes   atomic.Uint64 // batches taken, for the watcher
}

// Record implements server.Recorder: it keeps the record of one answered request for
// JavaScript, or drops it (counted in Stats.RecordsDropped) when maxAccessBytes are
// already waiting.
func (pl *Pool) Record(a *wire.Access) {
	l := &pl.log
	l.mu.Lock()
	at := len(l.buf)
	l.buf = wire.AppendAccess(l.buf, a)
	if len(l.buf) > maxAccessBytes {
		l.buf = l.buf[:at]
		if l.dropped < ^uint32(0) {
			l.dropped++
		}
		pl.stats.RecordsDropped.Add(1)
	} else {
		l.count++
	}
	l.size.Store(int64(len(l.buf)))
	l.mu.Unlock()
}

// waiting reports whether records wait for JavaScript, without locking.
func (l *accessLog) waiting() bool { return l != nil && l.size.Load() > 0 }

// take writes one notice record holding every waiting record that fits in buf, and
// returns its size; or 0 and the room the first record needs when not even it fits.
func (l *accessLog) take(buf []byte) (n, need int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	end, count := 0, uint32(0)
	for end < len(l.buf) && count < l.count {
		size := wire.AccessSize(l.buf[end:])
		if wire.CallHeader+end+size > len(buf) {
			break
		}
		end += size
		count++
	}
	if count == 0 {
		if len(l.buf) == 0 {
			return 0, 0
		}
		return 0, wire.CallHeader + wire.AccessSize(l.buf)
	}
	wire.PutCallHeader(buf, l.dropped, wire.KindNotice, 0, wire.NoticeAccess, count, end, 0)
	n = wire.CallHeader + copy(buf[wire.CallHeader:], l.buf[:end])
	rest := copy(l.buf, l.buf[end:])
	l.buf, l.count, l.dropped = l.buf[:rest], l.count-count, 0
	l.size.Store(int64(rest))
	l.takes.Add(1)
	return n, 0
}
