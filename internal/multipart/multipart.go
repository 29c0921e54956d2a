// Package multipart reads multipart/form-data request bodies as @bluelibs/runner 5.5.0
// reads them (src/node/exposure/multipart.ts over busboy 1.6), as a stream: the parts
// runner acts on come out one by one, a file's bytes as they arrive, so that no part of
// an upload has to sit whole in memory.
//
// What runner acts on: the "__manifest" field (the call's input, encoded by the
// serializer) and the file parts whose field name is "file:<id>". Everything else is
// read, counted against the limits and dropped. Every refusal is runner's answer
// (Failure): its status, code and message.
//
// Where busboy's reading has a quirk, this reads the same way (the differential tests
// in test/runner compare both): a part with no header at all is malformed, the parts
// limit trips at the boundary that ends part number "parts" (so a form may have parts-1
// parts), a file or field of exactly its size limit is refused, data after a boundary
// that is followed by neither "--" nor CRLF is ignored up to the next boundary, and the
// form is complete only once the whole body has been read.
//
// Deliberate differences, for inputs no client sends: a boundary longer than
// MaxBoundary is refused (busboy searches any length), and a boundary inside a part's
// header block makes the form malformed (busboy reads the header on across it).
package multipart

import (
	"bytes"
	"errors"
	"io"

	"github.com/bluelibs/runner-native/internal/ascii"
	"github.com/bluelibs/runner-native/internal/protocol"
)

// Limits bound a form, as runner's http.limits.multipart (busboy's limits) do. A
// negative value is no limit.
type Limits struct {
	FileSize  int64 // bytes of one file part; reaching it is refused (413)
	Files     int64 // file parts (any name)
	Fields    int64 // non-file parts
	FieldSize int64 // bytes of one field's value; reaching it is refused (413)
	Parts     int64 // parts (see the package comment)
	// ManifestSize bounds the bytes of every __manifest field together (runner's own
	// check, made only when its limits name a fieldSize).
	ManifestSize int64
}

// DefaultLimits are runner's when http.limits.multipart is not given.
var DefaultLimits = Limits{FileSize: 20 << 20, Files: 10, Fields: 100, FieldSize: 1 << 20, Parts: -1, ManifestSize: 1 << 20}

// MaxBoundary is the longest boundary read (RFC 2046 allows 70 characters).
const MaxBoundary = 1024

// Failure is a refused form: runner's answer (internal/protocol's Form*, where every
// answer is defined).
type Failure = protocol.Answer

// runner's answers (multipart.ts), by the names this package's readers return.
var (
	ErrInvalid         = protocol.FormInvalid
	ErrInvalidManifest = protocol.FormInvalidManifest
	ErrMissingManifest = protocol.FormMissingManifest
	ErrFileTooLarge    = protocol.FormFileTooLarge
	ErrTooManyFiles    = protocol.FormTooManyFiles
	ErrTooManyFields   = protocol.FormTooManyFields
	ErrTooManyParts    = protocol.FormTooManyParts
	ErrFieldTooLarge   = protocol.FormFieldTooLarge
	ErrFileCut         = protocol.FormFileCut
)

// Part is a part runner acts on: the manifest, or a file.
type Part struct {
	// Manifest: this is the __manifest field; Value is its text, in UTF-8.
	Manifest bool
	Value    []byte
	// A file part: ID is its field name after "file:", in UTF-8; Filename the raw bytes
	// of its filename (nil: none), in FilenameCharset (nil: Latin-1, a plain parameter;
	// else the charset of filename*); Type its content type, type/subtype lower-cased.
	ID              []byte
	Filename        []byte
	FilenameCharset []byte
	Type            []byte
}

const (
	chunk          = 64 << 10
	maxHeaderSize  = 16 << 10 // busboy: MAX_HEADER_SIZE
	maxHeaderPairs = 2000     // busboy: MAX_HEADER_PAIRS
)

type partKind uint8

const (
	kindNone  partKind = iota // the preamble, or data no part owns: ignored
	kindSkip                  // a part runner does not act on: ignored
	kindField                 // a field: counted (and kept, for the manifest)
	kindFile                  // a file: part: its bytes come out through Read
)

type state uint8

const (
	inData        state = iota // reading the current part's bytes
	afterBoundary              // a boundary was read; what follows decides
	inHeader                   // reading a part's header block
	complete                   // the closing boundary was read
)

// Reader reads one form. Not safe for concurrent use.
type Reader struct {
	src    io.Reader
	needle []byte // CRLF "--" boundary
	buf    []byte
	r, w   int
	found  int // index in buf of the next needle at or after r, or -1
	seen   int // buf[:seen] was searched and holds no needle after r
	srcErr error
	lim    Limits

	st      state
	post    uint8 // after a boundary: 1 nothing yet, 2 one '-' read, 3 CR read
	hp      headerParser
	matches int64
	files   int64
	fields  int64

	kind      partKind
	size      int64
	truncated bool
	manifest  bool   // the current field is __manifest
	charset   []byte // the current field's charset
	value     []byte // the manifest's bytes so far

	manifestSeen  bool
	manifestBytes int64

	pending error // found while returning something else: reported next
	err     error // sticky: a failure, or io.EOF once complete and read to the end
}

// Needle returns what a form with this Content-Type is split on (CRLF "--" boundary,
// the boundary re-encoded from Latin-1 to UTF-8 as busboy's search does), or ok false
// when busboy would refuse the type (runner: 400 INVALID_MULTIPART).
func Needle(contentType []byte) ([]byte, bool) {
	ct, ok := ParseContentType(contentType)
	if !ok || string(ct.Type) != "multipart" || string(ct.Subtype) != "form-data" {
		return nil, false
	}
	boundary, ok := ct.Params["boundary"]
	if !ok || len(boundary) > MaxBoundary {
		return nil, false
	}
	return append([]byte("\r\n--"), latin1ToUTF8(boundary)...), true
}

// NewReader reads the form in src, split on needle (see Needle).
func NewReader(src io.Reader, needle []byte, lim Limits) *Reader {
	m := &Reader{src: src, needle: needle, lim: lim, found: -1}
	m.buf = make([]byte, chunk+2*len(needle))
	// busboy writes a CRLF first, so that a body may start with its first boundary.
	m.w = copy(m.buf, "\r\n")
	return m
}

func (m *Reader) fail(err error) error {
	if m.err == nil {
		m.err = err
	}
	return m.err
}

// Next returns the next part runner acts on, reading (and checking) the others, and
// the rest of the previous file if it was not read. It returns io.EOF once the form is
// complete and the body read to its end; any other error is final: a *Failure, or the
// body's own read error.
func (m *Reader) Next() (*Part, error) {
	for {
		if m.err != nil {
			return nil, m.err
		}
		if m.pending != nil {
			return nil, m.fail(m.pending)
		}
		switch m.st {
		case inData:
			if m.kind == kindFile {
				if _, err := m.Read(chunk); err != nil && err != io.EOF {
					return nil, err
				}
				continue
			}
			b, boundary, err := m.data(chunk)
			if err != nil {
				return nil, m.fail(err)
			}
			if !boundary {
				m.take(b)
				continue
			}
			p, err := m.endField()
			if err != nil {
				return nil, m.fail(err)
			}
			m.boundary()
			if p != nil {
				return p, nil
			}
		case afterBoundary:
			if err := m.afterBoundary(); err != nil {
				return nil, m.fail(err)
			}
		case inHeader:
			p, err := m.header()
			if err != nil {
				return nil, m.fail(err)
			}
			if p != nil {
				return p, nil
			}
		case complete:
			if err := m.drain(); err != nil {
				return nil, m.fail(err)
			}
			return nil, m.fail(io.EOF)
		}
	}
}

// Read returns the next bytes of the current file part, at most max, in a slice valid
// until the next call; io.EOF at the part's end. A file that reaches the size limit
// gives its bytes up to the limit, then ErrFileTooLarge.
func (m *Reader) Read(max int) ([]byte, error) {
	if m.err != nil {
		return nil, m.err
	}
	if m.st != inData || m.kind != kindFile {
		return nil, io.EOF
	}
	if m.pending != nil {
		return nil, m.fail(m.pending)
	}
	b, boundary, err := m.data(max)
	if err == ErrInvalid {
		err = ErrFileCut
	}
	if err != nil {
		return nil, m.fail(err)
	}
	if boundary {
		m.boundary()
		return nil, io.EOF
	}
	if m.lim.FileSize >= 0 {
		n := int(min(int64(len(b)), m.lim.FileSize-m.size))
		b = b[:n]
		m.size += int64(n)
		if m.size == m.lim.FileSize {
			m.pending = ErrFileTooLarge
			if n == 0 {
				return nil, m.fail(ErrFileTooLarge)
			}
		}
	}
	return b, nil
}

// take counts a non-file part's bytes (and keeps the manifest's).
func (m *Reader) take(b []byte) {
	if m.kind != kindField || m.truncated {
		return
	}
	n := int64(len(b))
	if m.lim.FieldSize >= 0 {
		n = min(n, m.lim.FieldSize-m.size)
	}
	m.size += n
	if m.manifest {
		m.value = append(m.value, b[:n]...)
	}
	if m.size == m.lim.FieldSize {
		m.truncated = true
	}
}

// endField ends the current part at a boundary: a field is emitted as busboy emits it
// (runner refuses a truncated one; the first manifest is returned, later ones must add
// nothing but JSON whitespace to it, as runner parses them all together).
func (m *Reader) endField() (*Part, error) {
	if m.kind != kindField {
		return nil, nil
	}
	m.kind = kindNone
	if m.truncated {
		return nil, ErrFieldTooLarge
	}
	if !m.manifest {
		return nil, nil
	}
	text := ToUTF8(m.value, m.charset)
	m.value = nil
	m.manifestBytes += int64(len(text))
	if m.lim.ManifestSize >= 0 && m.manifestBytes > m.lim.ManifestSize {
		return nil, ErrFieldTooLarge
	}
	if m.manifestSeen {
		if len(bytes.Trim(text, " \t\r\n")) > 0 {
			return nil, ErrInvalidManifest
		}
		return nil, nil
	}
	m.manifestSeen = true
	if len(text) == 0 {
		return nil, ErrMissingManifest
	}
	return &Part{Manifest: true, Value: text}, nil
}

// boundary counts a boundary just read: busboy's parts limit trips when the count of
// parts ended reaches it.
func (m *Reader) boundary() {
	m.kind = kindNone
	m.st, m.post = afterBoundary, 1
	m.matches++
	if m.lim.Parts >= 0 && m.matches-1 == m.lim.Parts && m.pending == nil {
		m.pending = ErrTooManyParts
	}
}

// afterBoundary reads what follows a boundary: "--" ends the form, CRLF starts a part's
// header; anything else is data no part owns.
func (m *Reader) afterBoundary() error {
	b, boundary, err := m.data(1)
	if err != nil {
		return err
	}
	if boundary {
		m.boundary()
		return nil
	}
	c := b[0]
	switch {
	case m.post == 1 && c == '-':
		m.post = 2
	case m.post == 1 && c == '\r':
		m.post = 3
	case m.post == 2 && c == '-':
		m.st = complete
	case m.post == 3 && c == '\n':
		m.st = inHeader
		m.hp.reset()
	default:
		// busboy puts the byte back as data, which no part owns.
		m.st, m.kind = inData, kindNone
	}
	return nil
}

// header reads a part's header block and decides what the part is.
func (m *Reader) header() (*Part, error) {
	b, boundary, err := m.data(chunk)
	if err != nil {
		return nil, err
	}
	if boundary {
		return nil, ErrInvalid // a boundary inside a header block
	}
	n, done, bad := m.hp.push(b)
	if bad {
		return nil, ErrInvalid
	}
	m.r -= len(b) - n // what follows the header block is the part's data
	if !done {
		return nil, nil
	}
	m.st, m.kind, m.size, m.truncated, m.manifest, m.charset = inData, kindSkip, 0, false, false, nil
	return m.startPart()
}

// startPart decides a part from its header, as busboy and runner do.
func (m *Reader) startPart() (*Part, error) {
	h := &m.hp
	if !h.hasDisposition {
		return nil, nil
	}
	d, ok := ParseDisposition(h.disposition)
	if !ok || string(d.Type) != "form-data" {
		return nil, nil
	}
	name := d.Params["name"] // busboy: `if (disp.params.name)`: empty is none
	var filename, filenameCharset []byte
	if v := d.Params["filename*"]; truthy(v, d.Charset["filename*"]) {
		filename, filenameCharset = v, d.Charset["filename*"]
	} else if v := d.Params["filename"]; len(v) > 0 {
		filename = v
	}
	typ := []byte("text/plain")
	var charset []byte
	if h.hasContentType {
		if ct, ok := ParseContentType(h.contentType); ok {
			typ = append(append(append([]byte(nil), ct.Type...), '/'), ct.Subtype...)
			charset = ct.Params["charset"] // lower-cased once, by charsetOf
		}
	}
	if string(typ) == "application/octet-stream" || filename != nil {
		if m.lim.Files >= 0 && m.files == m.lim.Files {
			return nil, ErrTooManyFiles
		}
		m.files++
		if !bytes.HasPrefix(name, []byte("file:")) {
			return nil, nil // runner resumes (drops) any other file
		}
		m.kind = kindFile
		return &Part{ID: latin1ToUTF8(name[len("file:"):]), Filename: filename, FilenameCharset: filenameCharset, Type: typ}, nil
	}
	if m.lim.Fields >= 0 && m.fields == m.lim.Fields {
		return nil, ErrTooManyFields
	}
	m.fields++
	m.kind = kindField
	m.manifest = string(name) == "__manifest"
	m.charset = charset
	return nil, nil
}

// truthy: whether busboy's decoded filename* is a non-empty string.
func truthy(v, charset []byte) bool {
	if charsetOf(charset) == csUTF16LE {
		return len(v) >= 2
	}
	return len(v) > 0
}

// drain reads the body to its end: runner's form completes only then.
func (m *Reader) drain() error {
	for m.srcErr == nil {
		m.r, m.w, m.found, m.seen = 0, 0, -1, 0
		m.fill()
	}
	if m.srcErr == io.EOF {
		return nil
	}
	return m.srcErr
}

// data returns up to max bytes of the current part (those before the next needle) in a
// slice of the buffer, or boundary true when the needle is next (it is consumed). The
// body ending first is ErrInvalid (busboy: "Unexpected end of form").
func (m *Reader) data(max int) ([]byte, bool, error) {
	for {
		if i := m.next(); i >= 0 {
			if i == m.r {
				m.r += len(m.needle)
				m.found = -1
				return nil, true, nil
			}
			n := min(i-m.r, max)
			b := m.buf[m.r : m.r+n]
			m.r += n
			return b, false, nil
		}
		avail := m.buf[m.r:m.w]
		safe := len(avail)
		if m.srcErr == nil {
			safe -= partial(avail, m.needle) // may begin a needle: wait for more
		}
		if safe > 0 {
			n := min(safe, max)
			m.r += n
			return avail[:n], false, nil
		}
		if m.srcErr != nil {
			if m.srcErr == io.EOF {
				return nil, false, ErrInvalid
			}
			return nil, false, m.srcErr
		}
		m.fill()
	}
}

// next returns the index of the next needle at or after r, or -1 if the buffer holds
// none (searching only what was not searched before).
func (m *Reader) next() int {
	if m.found >= m.r {
		return m.found
	}
	from := max(m.r, m.seen-len(m.needle)+1)
	if i := bytes.Index(m.buf[from:m.w], m.needle); i >= 0 {
		m.found = from + i
		return m.found
	}
	m.seen = m.w
	return -1
}

// partial is the length of the longest end of b that begins the needle.
func partial(b, needle []byte) int {
	tail := b[max(0, len(b)-(len(needle)-1)):]
	for j := 0; j < len(tail); j++ {
		if tail[j] == needle[0] && bytes.HasPrefix(needle, tail[j:]) {
			return len(tail) - j
		}
	}
	return 0
}

// fill reads more of the body, moving the unread bytes to the front first.
func (m *Reader) fill() {
	if m.r > 0 {
		n := copy(m.buf, m.buf[m.r:m.w])
		shift := m.r
		m.r, m.w = 0, n
		if m.found >= shift {
			m.found -= shift
		} else {
			m.found = -1
		}
		m.seen = max(0, m.seen-shift)
	}
	if m.w == len(m.buf) {
		return // cannot happen: a full buffer always has safe bytes
	}
	n, err := m.src.Read(m.buf[m.w:])
	m.w += n
	if err != nil {
		m.srcErr = err
	}
}

// Failed reports whether err is a refusal of the form (not a read error).
func Failed(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}

// headerParser is busboy's HeaderParser: token names, optional spaces, values of
// visible characters, tabs and bytes ≥ 0x80, CRLF line ends, folded lines, at most
// maxHeaderSize bytes. It keeps the two headers runner reads.
type headerParser struct {
	state          uint8 // 0 name, 1 spaces before the value, 2 value
	crlf           uint8
	count          int
	pairs          int
	name, value    []byte
	disposition    []byte
	contentType    []byte
	hasDisposition bool
	hasContentType bool
}

func (h *headerParser) reset() {
	*h = headerParser{name: h.name[:0], value: h.value[:0], disposition: h.disposition[:0], contentType: h.contentType[:0]}
}

// push reads b; it returns how many bytes it used, whether the block ended, and bad
// when it is malformed.
func (h *headerParser) push(b []byte) (n int, done, bad bool) {
	pos, start := 0, 0
	count := func() bool {
		if h.count == maxHeaderSize {
			return false
		}
		h.count++
		return true
	}
	for pos < len(b) {
		switch h.state {
		case 0: // name
			for ; pos < len(b); pos++ {
				if !count() {
					return 0, false, true
				}
				c := b[pos]
				if !ascii.IsTchar(c) {
					if c != ':' {
						return 0, false, true
					}
					h.name = append(h.name, b[start:pos]...)
					if len(h.name) == 0 {
						return 0, false, true
					}
					pos++
					h.state = 1
					break
				}
			}
			if h.state == 0 {
				h.name = append(h.name, b[start:pos]...)
				return pos, false, false
			}
		case 1: // optional whitespace
			for ; pos < len(b); pos++ {
				if !count() {
					return 0, false, true
				}
				if c := b[pos]; c != ' ' && c != '\t' {
					start = pos
					h.state = 2
					break
				}
			}
		case 2: // value
			switch h.crlf {
			case 0:
				for ; pos < len(b); pos++ {
					if !count() {
						return 0, false, true
					}
					c := b[pos]
					if !ascii.IsFieldByte(c) {
						if c != '\r' {
							return 0, false, true
						}
						h.crlf = 1
						break
					}
				}
				h.value = append(h.value, b[start:pos]...)
				if h.crlf == 1 {
					pos++
				}
			case 1:
				if !count() {
					return 0, false, true
				}
				if b[pos] != '\n' {
					return 0, false, true
				}
				pos++
				h.crlf = 2
			case 2:
				if !count() {
					return 0, false, true
				}
				c := b[pos]
				if c == ' ' || c == '\t' { // a folded line: the value goes on
					start = pos
					h.crlf = 0
					break
				}
				h.pairs++
				if h.pairs < maxHeaderPairs {
					h.keep()
				}
				if c == '\r' {
					h.crlf = 3
					pos++
				} else {
					start = pos
					h.crlf, h.state = 0, 0
					h.name, h.value = h.name[:0], h.value[:0]
				}
			case 3:
				if !count() {
					return 0, false, true
				}
				if b[pos] != '\n' {
					return 0, false, true
				}
				return pos + 1, true, false
			}
		}
	}
	return pos, false, false
}

// keep records a complete header line if runner reads it (the first of each).
func (h *headerParser) keep() {
	switch {
	case !h.hasDisposition && asciiEqualFold(h.name, "content-disposition"):
		h.disposition, h.hasDisposition = append(h.disposition[:0], h.value...), true
	case !h.hasContentType && asciiEqualFold(h.name, "content-type"):
		h.contentType, h.hasContentType = append(h.contentType[:0], h.value...), true
	}
}

func asciiEqualFold(b []byte, s string) bool {
	return len(b) == len(s) && bytes.EqualFold(b, []byte(s))
}
