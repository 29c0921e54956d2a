package bridge

import (
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/bluelibs/runner-native/internal/multipart"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// Body streams (client → JavaScript). A call whose body is streamed (Call.Body) is
// queued with FlagBodyStream, or FlagMultipart for a form whose files are streamed; the
// goroutine that serves it then reads the body only as JavaScript asks for it
// (AnswerBodyCredit, per stream) and hands it over in KindBody records of at most
// wire.BodyChunk bytes, so an upload never sits whole in memory either.

// feed serves a call whose body is streamed to JavaScript (c.Body): it reads the body as
// JavaScript gives credit and queues the pieces, until the body ends or the call is
// answered, then waits for the answer. A body that fails (too large, cut short, broken,
// timed out) is answered by Go (bodyFailed). One goroutine at a time reads the body.
//
// Full duplex: when the answer is a stream that starts before the body's end (an echo,
// a transform of the upload), feed returns the feeder, and the stream goes on feeding
// from a goroutine of its own (respStream.feedOn) while the server writes the answer,
// as node:http reads a request while its response is written. Without this, an echo
// stalled for ever once the socket buffers were full.
func (p *Port) feed(w *waiter) *feeder {
	f := &feeder{p: p, w: w, c: w.call, credit: w.body}
	if p.opts.Timeout > 0 {
		t := time.NewTimer(p.opts.Timeout)
		defer t.Stop()
		f.timer = t.C
	}
	f.run()
	if f.more && w.stream != nil {
		f.timer = nil // the call is answered: taskTimeoutMs is over for it
		return f
	}
	return nil
}

// run reads the body until its end, a failure, or (more) the call's answer.
func (f *feeder) run() {
	defer func() {
		// A bug in a body's reader (the multipart parser reads what clients send) must
		// fail this call as a broken body would, its slot freed and JavaScript told,
		// never unwind through the server or reach Node.
		if v := recover(); v != nil {
			f.more = false
			if f.c.Parts != nil {
				f.formFailed(protocol.FormReaderPanic)
			} else {
				f.failed(wire.AbortDisconnect)
			}
		}
	}()
	if f.c.Parts != nil {
		f.form()
	} else {
		f.raw()
	}
}

type feeder struct {
	p      *Port
	w      *waiter
	c      *server.Call
	credit *bodyCredit
	timer  <-chan time.Time
	// Where the body is, so that reading can resume after the call's answer.
	sent    uint32 // bytes of the current stream sent
	cur     int    // the form part being read (0: none)
	next    int    // the next form part's stream
	started bool   // a form's early parts are queued
	// more: the call got its answer before the body's end. Once its answer is a stream,
	// stream is set and the feeder runs on until the body ends or stop is closed.
	more   bool
	stream *respStream
	stop   <-chan struct{}
}

// raw streams a raw body (stream 0), read straight into pooled records.
func (f *feeder) raw() {
	p, w, c := f.p, f.w, f.c
	for {
		if f.answered() {
			return
		}
		sent := f.sent
		avail, _, _ := f.credit.state(0, sent)
		if avail == 0 {
			if !f.await() {
				return
			}
			continue
		}
		rec := bodyRecords.Get().(*bodyRecord)
		n, err := c.Body.Read(rec[wire.CallHeader : wire.CallHeader+min(avail, wire.BodyChunk)])
		f.sent += uint32(n)
		if f.stopped() {
			bodyRecords.Put(rec) // the stream is over: nobody takes what came
			return
		}
		if errors.Is(err, server.ErrBodyTooLarge) {
			bodyRecords.Put(rec)
			f.failed(wire.AbortTooLarge)
			return
		}
		end := errors.Is(err, io.EOF)
		if n > 0 || end {
			var flags byte
			if end {
				flags = wire.FlagEnd
			}
			wire.PutCallHeader(rec[:], w.id, wire.KindBody, flags, 0, 0, n, 0)
			p.queueRecord(rec[:wire.CallHeader+n])
		} else {
			bodyRecords.Put(rec)
		}
		if end {
			f.waitAnswer()
			return
		}
		if err != nil {
			f.failed(wire.AbortDisconnect)
			return
		}
	}
}

// waitAnswer waits for the call's answer once the body is read, unless the answer is
// already a stream (this feeder runs on beside it).
func (f *feeder) waitAnswer() {
	if f.stream == nil {
		f.p.wait(f.w)
	}
}

// stopped reports whether the answer stream this feeder runs beside is over: nothing
// may be read or queued any more.
func (f *feeder) stopped() bool {
	if f.stop == nil {
		return false
	}
	select {
	case <-f.stop:
		return true
	default:
		return false
	}
}

// failed ends a body that failed: before the call's answer, Go answers it (bodyFailed);
// once the answer is a stream, the stream is cut with reason (JavaScript told: ctx.body
// fails and the signal fires), as node:http's response ends when its request errors.
func (f *feeder) failed(reason uint16) {
	if f.stream == nil && f.p.bodyFailed(f.w, reason) {
		return
	}
	f.more = false
	if s := f.w.stream; s != nil { // set before the answer's done, which was received
		s.abort(reason)
	}
}

// maxFileStreams is the most file parts one form may stream: records name a stream in
// 16 bits, and stream 0 is the form itself.
const maxFileStreams = 1<<16 - 1

// discarded is what a file part's stream fails with when the task settled before
// reading it (wire.FlagDiscard on stream 0): protocol.StreamDiscarded.
var (
	discardedCode    = []byte(protocol.StreamDiscarded.Code)
	discardedMessage = []byte(protocol.StreamDiscarded.Message)
)

// form streams a multipart form's file parts (streams 1, 2...), the ones that came
// before the manifest first, then tells how the form ended (stream 0). Parts come in
// order: a part JavaScript does not read holds the ones after it back (as busboy's do),
// until the task settles; from then on nothing waits for credit (see wire).
func (f *feeder) form() {
	p, w, c := f.p, f.w, f.c
	if !f.started {
		f.started = true
		for i, e := range c.Early {
			f.credit.open(i+1, wire.BodyChunk)
			p.queuePart(w.id, uint16(i+1), &e.Part, e.Data, wire.FlagEnd)
		}
		f.next = len(c.Early) + 1
	}
	for {
		if f.answered() {
			return
		}
		cur, next, sent := f.cur, f.next, f.sent
		if cur == 0 {
			part, err := c.Parts.Next()
			if f.stopped() {
				return
			}
			if err == io.EOF {
				p.queueBody(w.id, 0, wire.FlagEnd, 0, nil, nil)
				f.waitAnswer()
				return
			}
			if err != nil {
				f.formFailed(err)
				return
			}
			if next > maxFileStreams {
				// A record names its stream in 16 bits (0 is the form itself): a form of
				// more file parts than that is refused as one over a files limit.
				f.formFailed(multipart.ErrTooManyFiles)
				return
			}
			f.cur, f.sent, f.next = next, 0, next+1
			f.credit.open(next, wire.BodyChunk)
			p.queuePart(w.id, uint16(next), part, nil, 0)
			continue
		}
		avail, unwanted, settled := f.credit.state(cur, sent)
		switch {
		case unwanted:
			avail = wire.BodyChunk // read on, to the part's end, sending nothing
		case avail == 0 && settled:
			var extras [wire.ExtraCount][]byte
			extras[wire.ExtraCode] = discardedCode
			p.queueBody(w.id, uint16(cur), wire.FlagFailed, 0, discardedMessage, &extras)
			f.credit.give(cur, 0, true)
			continue
		case avail == 0:
			if !f.await() {
				return
			}
			continue
		}
		b, err := c.Parts.Read(min(avail, wire.BodyChunk))
		if f.stopped() {
			return
		}
		if err == io.EOF {
			if !unwanted {
				p.queueBody(w.id, uint16(cur), wire.FlagEnd, 0, nil, nil)
			}
			f.cur = 0
			continue
		}
		if len(b) > 0 && !unwanted {
			p.queueBody(w.id, uint16(cur), 0, 0, b, nil)
		}
		f.sent += uint32(len(b))
		if err != nil {
			f.formFailed(err)
			return
		}
	}
}

// formFailed ends a form that failed: runner's refusal goes to JavaScript (stream 0
// fails; the task's answer says what the client gets), a body too large or cut short
// is answered by Go.
func (f *feeder) formFailed(err error) {
	p, w := f.p, f.w
	if fail, ok := multipart.Failed(err); ok {
		var extras [wire.ExtraCount][]byte
		extras[wire.ExtraCode] = []byte(fail.Code)
		p.queueBody(w.id, 0, wire.FlagFailed, uint32(fail.Status), []byte(fail.Message), &extras)
		f.waitAnswer()
		return
	}
	if errors.Is(err, server.ErrBodyTooLarge) {
		f.failed(wire.AbortTooLarge)
		return
	}
	f.failed(wire.AbortDisconnect)
}

// answered reports (without waiting) whether the feeder must stop: the call has its
// answer already (more), or, beside an answer stream, the stream is over.
func (f *feeder) answered() bool {
	if f.stop != nil {
		return f.stopped()
	}
	select {
	case <-f.w.done:
		f.more = true
		return true
	default:
		return false
	}
}

// await waits for credit; false when the call has its answer (or timed out) instead,
// or, beside an answer stream, when the stream is over.
func (f *feeder) await() bool {
	p, w := f.p, f.w
	if f.stop != nil {
		select {
		case <-f.stop:
			return false
		case <-w.kick:
			return true
		}
	}
	select {
	case <-w.done:
		f.more = true
		return false // answered before it read the whole body
	case <-w.kick:
		return true
	case <-f.timer:
		if p.expire(w, w.id, wire.AbortTimeout) {
			p.stats.Timeouts.Add(1)
			w.call.Fail(protocol.HandlerTimeout, strconv.Itoa(int(p.opts.Timeout/time.Millisecond)))
			return false
		}
		<-w.done
		f.more = true
		return false
	}
}

// bodyCredit is what JavaScript allows of a call's body streams, by stream (see wire).
type bodyCredit struct {
	mu       sync.Mutex
	granted  []uint32 // bytes of stream i JavaScript can take, from the stream's start (mod 2^32)
	unwanted []bool   // stream i is not wanted any more
	settled  bool     // a form's task settled: never wait for credit again
}

func (b *bodyCredit) reset() {
	b.mu.Lock()
	b.granted, b.unwanted, b.settled = b.granted[:0], b.unwanted[:0], false
	b.mu.Unlock()
}

func (b *bodyCredit) grow(stream int) {
	for len(b.granted) <= stream {
		b.granted = append(b.granted, 0)
		b.unwanted = append(b.unwanted, false)
	}
}

// open starts stream with an initial grant.
func (b *bodyCredit) open(stream int, initial uint32) {
	b.mu.Lock()
	b.grow(stream)
	b.granted[stream] = initial
	b.mu.Unlock()
}

// give applies a credit answer: a new offset, or (discard) the stream is not wanted; a
// discard of stream 0 means the task settled (a form; a raw body ignores it: the
// answer, which follows, ends the call).
func (b *bodyCredit) give(stream int, offset uint32, discard bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case discard && stream == 0:
		b.settled = true
	case discard:
		b.grow(stream)
		b.unwanted[stream] = true
	default:
		b.grow(stream)
		if int32(offset-b.granted[stream]) > 0 {
			b.granted[stream] = offset
		}
	}
}

// state returns how many more bytes stream may get after sent, whether it is unwanted,
// and whether the task settled.
func (b *bodyCredit) state(stream int, sent uint32) (avail int, unwanted, settled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if stream < len(b.granted) {
		avail = max(0, int(int32(b.granted[stream]-sent)))
		unwanted = b.unwanted[stream]
	}
	return avail, unwanted, b.settled
}

// bodyFailed answers the call itself because its body failed (too large: 413; cut
// short: the client is gone). JavaScript is told with an abort record, which destroys
// ctx.body and fires the signal with the reason. It reports false when the call was
// answered first (its answer received): an answer stream's start included, which
// only the stream may end (see expire).
func (p *Port) bodyFailed(w *waiter, reason uint16) bool {
	if !p.expire(w, w.id, reason) {
		<-w.done // answered first
		return false
	}
	if reason == wire.AbortTooLarge {
		w.call.Fail(protocol.PayloadTooLarge, strconv.Itoa(w.call.BodyLimit()))
	} else {
		w.call.Fail(protocol.ClientGone, "")
	}
	return true
}

// queueBody queues a KindBody record of call id's stream.
func (p *Port) queueBody(id uint32, stream uint16, flags byte, status uint32, data []byte, extras *[wire.ExtraCount][]byte) {
	if extras == nil {
		extras = &[wire.ExtraCount][]byte{}
	}
	var rec []byte
	if size := wire.RecordSize(data, extras); size <= len(bodyRecord{}) {
		rec = bodyRecords.Get().(*bodyRecord)[:size]
	} else {
		rec = make([]byte, size)
	}
	wire.PutRecord(rec, id, wire.KindBody, flags, stream, status, data, extras)
	p.queueRecord(rec)
}

// bodyRecord is a KindBody record with room for a full chunk. Pooled: drain gives each
// back once it copied it for JavaScript, so a stream allocates no memory per chunk.
type bodyRecord = [wire.CallHeader + wire.BodyChunk]byte

var bodyRecords = sync.Pool{New: func() any { return new(bodyRecord) }}

// releaseRecord gives a drained KindBody record back to the pool, when it is one.
func releaseRecord(rec []byte) {
	if cap(rec) == len(bodyRecord{}) {
		bodyRecords.Put((*bodyRecord)(rec[:cap(rec)]))
	}
}

// queueRecord queues a KindBody record for JavaScript.
func (p *Port) queueRecord(rec []byte) {
	if !p.enqueue(func() { p.bodies = append(p.bodies, rec) }) {
		releaseRecord(rec)
	}
}

// queuePart queues the first record of a file part: what it is, and data.
func (p *Port) queuePart(id uint32, stream uint16, part *multipart.Part, data []byte, flags byte) {
	var extras [wire.ExtraCount][]byte
	extras[wire.ExtraFileID] = part.ID
	extras[wire.ExtraFilename] = part.Filename
	extras[wire.ExtraFilenameCharset] = part.FilenameCharset
	extras[wire.ExtraFileType] = part.Type
	p.queueBody(id, stream, wire.FlagPart|flags, 0, data, &extras)
}
