package httpguard

import (
	"bytes"
	"strconv"

	"github.com/bluelibs/runner-native/internal/protocol"
)

// The scanner follows the request stream of one connection: it checks each request head
// line by line, frames the body (Content-Length or chunked) and knows where each request
// ends. It is not a second HTTP parser: it keeps only the few facts that decide framing
// and validity, and it writes what it checked back in place, rewritten where fasthttp
// would read it differently from llhttp (see process).

type state uint8

const (
	stStart     state = iota // between requests: skipping empty lines
	stHead                   // inside a request head
	stBody                   // inside a Content-Length body
	stChunkSize              // at a chunk-size line
	stChunkData              // inside chunk data
	stChunkEnd               // at the CRLF after chunk data
	stTrailers               // inside the trailer section
	stClosed                 // after a request that closes the connection: the rest is ignored
	stRejected               // a request was refused: nothing more is read
)

// head holds the facts of the request head being read.
type head struct {
	minor                     byte // HTTP/1.<minor>
	hosts                     uint8
	close, keepAlive          bool // Connection tokens
	hasLength                 bool
	length                    uint64
	hasTE, chunked, otherCode bool // Transfer-Encoding seen, chunked last, another coding seen
	expect, expectContinue    bool
}

type scanner struct {
	max int // bytes of a head, of a trailer section, of a chunk-size line

	st   state
	rej  *Rejection
	h    head
	done int // output offset just past the last request completed in the current buffer

	headBytes int    // input bytes of the head (or trailer section) read so far
	lines     int    // complete lines of the head so far
	remain    uint64 // bytes left of the body or of the chunk
	crlf      int    // bytes of the CRLF after chunk data matched so far

	// partDelivered is set once bytes of the unfinished request have been handed on, and
	// cleared when a request completes. A refusal then has to be answered by whoever
	// reads that request, not by the guard.
	partDelivered bool

	served bool // a request was complete before the current one
	armed  bool // the connection's ReadTimeout runs for the current head (see Conn.fill)
}

// inBody reports whether the unfinished request's head is complete, so that its bytes
// may be handed on.
func (s *scanner) inBody() bool { return s.st >= stBody && s.st <= stTrailers }

// holdsHead reports whether a head has begun but is not complete.
func (s *scanner) holdsHead() bool {
	return s.st == stHead || (s.st == stStart && s.headBytes > 0)
}

func (s *scanner) reject(r *Rejection) {
	s.rej, s.st = r, stRejected
}

// move copies n bytes from b[from:] to b[w:] (w <= from) and returns the new w.
func move(b []byte, w, from, n int) int {
	if w != from {
		copy(b[w:w+n], b[from:from+n])
	}
	return w + n
}

// process checks b[r:end] and writes what may be handed on to b[w:] (w <= r: the
// output never outgrows the input). It returns the new r and w; b[r:end] is then an
// unfinished line, kept for the next call. On return s.done marks the end of the last
// complete request written, and s.st says whether more may follow.
//
// The output differs from the input only where fasthttp would read it differently from
// llhttp: empty lines before a request, runs of spaces in the request line,
// Transfer-Encoding and Expect fields, chunk extensions and leading zeros, and trailers
// are dropped or written in their plain form.
func (s *scanner) process(b []byte, r, w, end int) (int, int) {
	for r < end && s.rej == nil {
		switch s.st {
		case stStart:
			for r < end && (b[r] == '\r' || b[r] == '\n') {
				r++
				s.headBytes++
			}
			if s.headBytes > s.max {
				s.reject(protocol.GuardHeadTooLarge)
			} else if r < end {
				s.st = stHead
			}
		case stHead, stTrailers, stChunkSize:
			lf := bytes.IndexByte(b[r:end], '\n')
			if lf < 0 {
				s.partial(b[r:end])
				return r, w
			}
			if lf == 0 || b[r+lf-1] != '\r' {
				s.reject(protocol.GuardBareLF)
				break
			}
			line := b[r : r+lf-1]
			from := r
			r += lf + 1
			switch s.st {
			case stHead:
				w = s.headLine(b, line, from, w)
			case stTrailers:
				w = s.trailerLine(b, line, from, w)
			default:
				w = s.chunkLine(b, line, from, w)
			}
		case stBody, stChunkData:
			n := end - r
			if uint64(n) > s.remain {
				n = int(s.remain)
			}
			w = move(b, w, r, n)
			r += n
			s.remain -= uint64(n)
			if s.remain > 0 {
				break
			}
			if s.st == stBody {
				s.complete(w)
			} else {
				s.st, s.crlf = stChunkEnd, 0
			}
		case stChunkEnd:
			for r < end && s.crlf < 2 { // byte by byte: the CRLF may straddle two reads
				if b[r] != "\r\n"[s.crlf] {
					s.reject(protocol.GuardChunkData)
					return r, w
				}
				w = move(b, w, r, 1)
				r++
				s.crlf++
			}
			if s.crlf == 2 {
				s.st = stChunkSize
			}
		case stClosed, stRejected:
			return end, w
		}
	}
	return r, w
}

// partial checks an unfinished line as far as it goes, and its size.
func (s *scanner) partial(line []byte) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1] // the CR of a CRLF still on its way
	}
	var rej *Rejection
	switch {
	case s.st == stChunkSize:
		if len(line) > s.max {
			rej = protocol.GuardChunkLineTooLarge
		} else {
			_, _, rej = parseChunkLine(line, false)
		}
	case s.headBytes+len(line) >= s.max:
		rej = protocol.GuardHeadTooLarge
	case s.st == stHead && s.lines == 0:
		_, rej = parseRequestLine(line, false)
	default:
		_, _, rej = parseField(line, false)
	}
	if rej != nil {
		s.reject(rej)
	}
}

// headLine takes one complete line of the head (without CRLF), which starts at
// b[from:], and writes it to b[w:] as fasthttp should see it.
func (s *scanner) headLine(b, line []byte, from, w int) int {
	s.headBytes += len(line) + 2
	if s.headBytes > s.max {
		s.reject(protocol.GuardHeadTooLarge)
		return w
	}
	s.lines++
	if s.lines == 1 {
		rl, rej := parseRequestLine(line, true)
		if rej != nil {
			s.reject(rej)
			return w
		}
		s.h.minor = rl.minor
		if len(line) == len(rl.method)+len(rl.target)+len(" HTTP/1.1 ") {
			return move(b, w, from, len(line)+2)
		}
		// Runs of spaces: write single ones (fasthttp refuses the runs llhttp accepts).
		w = move(b, w, from, len(rl.method))
		b[w] = ' '
		w = move(b, w+1, from+rl.targetAt, len(rl.target))
		w += copy(b[w:], " HTTP/1.")
		b[w] = '0' + rl.minor
		return w + 1 + copy(b[w+1:], "\r\n")
	}
	if len(line) == 0 {
		w = move(b, w, from, 2)
		s.endHead(w)
		return w
	}
	name, value, rej := parseField(line, true)
	act := keepLine
	if rej == nil {
		act, rej = s.field(name, value)
	}
	if rej != nil {
		s.reject(rej)
		return w
	}
	switch act {
	case dropLine:
		return w
	case writeChunked:
		return w + copy(b[w:], "Transfer-Encoding:chunked\r\n")
	case writeContinue:
		return w + copy(b[w:], "Expect:100-continue\r\n")
	}
	return move(b, w, from, len(line)+2)
}

// action says how a checked field line is handed on.
type action uint8

const (
	keepLine      action = iota
	dropLine             // a Transfer-Encoding or Expect line that says nothing more
	writeChunked         // Transfer-Encoding:chunked, shorter than any line that says so
	writeContinue        // Expect:100-continue, likewise
)

// field records what one header field says about framing and validity, with llhttp's
// rules, and returns how its line is handed on.
func (s *scanner) field(name, value []byte) (action, *Rejection) {
	h := &s.h
	switch len(name) {
	case len("host"):
		if !equalFold(name, "host") {
			break
		}
		if h.hosts++; h.hosts > 1 {
			return keepLine, protocol.GuardDupHost
		}
		if !validHost(trimOWS(value)) {
			return keepLine, protocol.GuardHost
		}
	case len("expect"):
		if !equalFold(name, "expect") || h.minor == 0 {
			break // HTTP/1.0 has no expectations: fasthttp ignores the field too
		}
		h.expect = true
		if h.expectContinue || !has100Continue(value) {
			return dropLine, nil
		}
		h.expectContinue = true
		if len(value) > 0 && value[0] == ' ' && equalFold(value[1:], "100-continue") {
			return keepLine, nil
		}
		return writeContinue, nil
	case len("connection"):
		if equalFold(name, "connection") {
			h.close = h.close || hasToken(value, "close")
			h.keepAlive = h.keepAlive || hasToken(value, "keep-alive")
		}
	case len("content-length"):
		if !equalFold(name, "content-length") {
			break
		}
		switch {
		case h.hasLength:
			return keepLine, protocol.GuardDupLength
		case h.hasTE:
			return keepLine, protocol.GuardLengthAndTE
		}
		n, ok := parseLength(value)
		if !ok {
			return keepLine, protocol.GuardLength
		}
		h.hasLength, h.length = true, n
	case len("transfer-encoding"):
		if equalFold(name, "transfer-encoding") {
			return s.transferEncoding(value)
		}
	}
	return keepLine, nil
}

// transferEncoding reads one Transfer-Encoding field: a list whose last element must be
// chunked (llhttp: "chunked" must be final, empty elements are skipped). Other codings
// are not implemented here: they are noted and refused with 501 once the head is
// complete, unless a 400 comes first.
func (s *scanner) transferEncoding(value []byte) (action, *Rejection) {
	h := &s.h
	if h.hasLength {
		return keepLine, protocol.GuardLengthAndTE
	}
	h.hasTE = true
	act, raw := dropLine, value
	for len(value) > 0 {
		var elem []byte
		elem, value, _ = bytes.Cut(value, comma)
		for len(elem) > 0 && (elem[0] == ' ' || elem[0] == '\t') {
			elem = elem[1:]
		}
		for len(elem) > 0 && elem[len(elem)-1] == ' ' {
			elem = elem[:len(elem)-1]
		}
		switch {
		case len(elem) == 0:
		case h.chunked:
			return keepLine, protocol.GuardChunkedNotLast
		case equalFold(elem, "chunked"):
			h.chunked, act = true, writeChunked
		default:
			h.otherCode = true
		}
	}
	if act == writeChunked && string(raw) == " chunked" {
		act = keepLine
	}
	return act, nil
}

// endHead applies the rules that need the whole head, then sets up the body.
func (s *scanner) endHead(w int) {
	h := &s.h
	var rej *Rejection
	switch {
	case h.minor == 1 && h.hosts == 0:
		rej = protocol.GuardNoHost
	case h.hasTE && h.minor == 0:
		rej = protocol.GuardTE10
	case h.hasTE && !h.chunked:
		rej = protocol.GuardChunkedNotLast
	case h.otherCode:
		rej = protocol.GuardCoding
	case h.expect && !h.expectContinue:
		rej = protocol.GuardExpect
	}
	switch {
	case rej != nil:
		s.reject(rej)
	case h.chunked:
		s.st, s.headBytes = stChunkSize, 0
	case h.length > 0:
		s.st, s.remain = stBody, h.length
	default:
		s.complete(w)
	}
}

// chunkLine takes one complete chunk-size line and writes it without extensions and
// leading zeros: fasthttp then never meets either.
func (s *scanner) chunkLine(b, line []byte, from, w int) int {
	if len(line) > s.max {
		s.reject(protocol.GuardChunkLineTooLarge)
		return w
	}
	size, ext, rej := parseChunkLine(line, true)
	if rej != nil {
		s.reject(rej)
		return w
	}
	if !ext && (len(line) == 1 || line[0] != '0') {
		w = move(b, w, from, len(line)+2)
	} else {
		w += len(strconv.AppendUint(b[w:w], size, 16))
		w += copy(b[w:], "\r\n")
	}
	if size == 0 {
		s.st = stTrailers
	} else {
		s.st, s.remain = stChunkData, size
	}
	return w
}

// trailerLine takes one complete line of the trailer section. Trailer fields are
// checked like header fields and dropped: only the empty line that ends the body is
// handed on.
func (s *scanner) trailerLine(b, line []byte, from, w int) int {
	s.headBytes += len(line) + 2
	if s.headBytes > s.max {
		s.reject(protocol.GuardHeadTooLarge)
		return w
	}
	if len(line) == 0 {
		w = move(b, w, from, 2)
		s.complete(w)
		return w
	}
	name, _, rej := parseField(line, true)
	if rej == nil && (equalFold(name, "content-length") || equalFold(name, "transfer-encoding")) {
		rej = protocol.GuardTrailerFraming
	}
	if rej != nil {
		s.reject(rej)
	}
	return w
}

// complete ends the request whose last output byte is at w-1.
func (s *scanner) complete(w int) {
	s.done = w
	closing := s.h.close || (s.h.minor == 0 && !s.h.keepAlive)
	s.h, s.headBytes, s.lines, s.partDelivered = head{}, 0, 0, false
	s.served, s.armed = true, false
	s.st = stStart
	if closing {
		s.st = stClosed
	}
}
