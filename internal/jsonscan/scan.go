// Package jsonscan validates a request body and slices out one top-level member in a
// single pass, without decoding anything.
//
// The server never needs the body as Go values: JavaScript parses the member's bytes
// once with V8's JSON.parse. Go only has to reject what is not JSON (so the handler is
// never called with garbage) and find where the member's value starts and ends.
package jsonscan

import (
	"errors"
	"unicode/utf8"

	"github.com/bluelibs/runner-native/internal/ascii"
)

// Errors returned by Member. Each one is answered with 400 INVALID_JSON.
var (
	ErrSyntax    = errors.New("malformed JSON")
	ErrNotObject = errors.New("request body must be a JSON object")
	ErrTooDeep   = errors.New("JSON nesting is too deep")
	ErrUTF8      = errors.New("JSON text is not valid UTF-8")
)

// Members validates doc as exactly one JSON value nested at most maxDepth levels. When
// it is an object, it returns the raw values of its members named a and b (the last of
// duplicates, as JSON.parse keeps) and isObject true; any other value is no error:
// isObject is false. Values alias doc.
func Members(doc []byte, a, b string, maxDepth int) (va, vb []byte, isObject bool, err error) {
	s := scanner{b: doc, max: maxDepth}
	s.skipSpace()
	if s.i >= len(s.b) {
		return nil, nil, false, ErrSyntax
	}
	if s.b[s.i] != '{' {
		if err := s.value(); err != nil {
			return nil, nil, false, err
		}
		return nil, nil, false, s.end()
	}
	s.want, s.want2, s.capture = a, b, true
	if err := s.value(); err != nil {
		return nil, nil, false, err
	}
	return s.found, s.found2, true, s.end()
}

type scanner struct {
	b     []byte
	i     int
	depth int
	max   int
	open  levels // what each open container is, by depth

	// Member capture: when capture is set, the value of every member named want (want2)
	// of the outermost object is recorded in found (found2); the last one wins.
	want, want2   string
	capture       bool
	found, found2 []byte
}

// levels records, one bit per level, whether each open container is an object. The
// scanner is iterative: its memory for nesting is this bit stack, not the goroutine's
// stack, so no depth a config allows (maxJsonDepth up to 2^31-1) can crash the process.
// The first 512 levels live in place (no allocation on the hot path); deeper ones, only
// for bodies that nest deeper, in a slice that grows with the input (an eighth of a byte
// per level, and each level costs the input at least one byte).
type levels struct {
	small [8]uint64
	big   []uint64
}

const smallLevels = len(levels{}.small) * 64

// set records whether the container at depth d (from 1) is an object.
func (l *levels) set(d int, object bool) {
	i := d - 1
	var w *uint64
	if i < smallLevels {
		w = &l.small[i/64]
	} else {
		j := (i - smallLevels) / 64
		for j >= len(l.big) {
			l.big = append(l.big, 0)
		}
		w = &l.big[j]
	}
	bit := uint64(1) << (i % 64)
	if object {
		*w |= bit
	} else {
		*w &^= bit
	}
}

// object reports whether the container at depth d (from 1) is an object.
func (l *levels) object(d int) bool {
	i := d - 1
	var w uint64
	if i < smallLevels {
		w = l.small[i/64]
	} else {
		w = l.big[(i-smallLevels)/64]
	}
	return w&(uint64(1)<<(i%64)) != 0
}

func (s *scanner) end() error {
	s.skipSpace()
	if s.i != len(s.b) {
		return ErrSyntax
	}
	return nil
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value at s.i, containers included, without recursion: a container's
// members are scanned in a loop that keeps the open containers in s.open. It checks
// exactly what the grammar says, in input order, so its first error is the one a
// recursive descent would report.
func (s *scanner) value() error {
	base := s.depth
	wanted, vs := 0, 0 // the outermost object's member being scanned (capture)
	for {
		// A value starts at s.i.
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch c := s.b[s.i]; {
		case c == '{' || c == '[':
			s.depth++
			if s.depth > s.max {
				return ErrTooDeep
			}
			object := c == '{'
			s.open.set(s.depth, object)
			s.i++
			s.skipSpace()
			if s.i < len(s.b) && (object && s.b[s.i] == '}' || !object && s.b[s.i] == ']') {
				s.i++
				s.depth--
				break // an empty container: a complete value
			}
			var err error
			if wanted, vs, err = s.member(wanted, vs); err != nil {
				return err
			}
			continue // its first member's value
		case c == '"':
			if _, _, _, err := s.str(); err != nil {
				return err
			}
		case c == 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case c == 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case c == 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if err := s.number(); err != nil {
				return err
			}
		default:
			return ErrSyntax
		}
		// A value ended at s.i: close the containers it completes, up to one that has
		// another member.
		for {
			if s.depth == base {
				return nil
			}
			if s.depth == 1 && wanted != 0 {
				if wanted == 1 {
					s.found = s.b[vs:s.i]
				} else {
					s.found2 = s.b[vs:s.i]
				}
				wanted = 0
			}
			s.skipSpace()
			if s.i >= len(s.b) {
				return ErrSyntax
			}
			object := s.open.object(s.depth)
			if s.b[s.i] == ',' {
				s.i++
				break
			}
			if object && s.b[s.i] == '}' || !object && s.b[s.i] == ']' {
				s.i++
				s.depth--
				continue
			}
			return ErrSyntax
		}
		var err error
		if wanted, vs, err = s.member(wanted, vs); err != nil {
			return err
		}
	}
}

// member scans what comes before the next member's value in the container at s.depth:
// space, and in an object the member's name and colon. At depth 1 with capture on, it
// says which wanted member (if any) the value belongs to, and where the value starts.
func (s *scanner) member(wanted, vs int) (int, int, error) {
	s.skipSpace()
	if s.open.object(s.depth) {
		ks, ke, escaped, err := s.str()
		if err != nil {
			return 0, 0, err
		}
		if s.capture && s.depth == 1 {
			wanted = 0
			if keyEquals(s.b[ks:ke], escaped, s.want) {
				wanted = 1
			} else if s.want2 != "" && keyEquals(s.b[ks:ke], escaped, s.want2) {
				wanted = 2
			}
		}
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return 0, 0, ErrSyntax
		}
		s.i++
		s.skipSpace()
	}
	if s.depth == 1 {
		vs = s.i
	}
	return wanted, vs, nil
}

func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return ErrSyntax
	}
	s.i += len(word)
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *scanner) number() error {
	if s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return ErrSyntax
	}
	if s.b[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return ErrSyntax
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return ErrSyntax
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return ErrSyntax
		}
	}
	return nil
}

// str scans a string at s.i and returns the bounds of its contents (without quotes) and
// whether it holds escapes.
func (s *scanner) str() (start, end int, escaped bool, err error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return 0, 0, false, ErrSyntax
	}
	s.i++
	start = s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			end = s.i
			s.i++
			return start, end, escaped, nil
		case c == '\\':
			escaped = true
			if err := s.escape(); err != nil {
				return 0, 0, false, err
			}
		case c < 0x20:
			return 0, 0, false, ErrSyntax
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false, ErrUTF8
			}
			s.i += size
		}
	}
	return 0, 0, false, ErrSyntax
}

func (s *scanner) escape() error {
	s.i++ // '\\'
	if s.i >= len(s.b) {
		return ErrSyntax
	}
	switch s.b[s.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.i++
		return nil
	case 'u':
		if len(s.b)-s.i < 5 {
			return ErrSyntax
		}
		for _, h := range s.b[s.i+1 : s.i+5] {
			if ascii.HexDigit(h) < 0 {
				return ErrSyntax
			}
		}
		s.i += 5
		return nil
	}
	return ErrSyntax
}

// keyEquals compares a raw (still escaped) member name with key. Escaped names are rare
// ("\u0069nput" is "input"); only they pay for decoding.
func keyEquals(raw []byte, escaped bool, key string) bool {
	if !escaped {
		return string(raw) == key
	}
	var buf [64]byte
	out := buf[:0]
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			out = append(out, raw[i])
			i++
			continue
		}
		i++
		switch c := raw[i]; c {
		case 'u':
			r := rune(ascii.HexDigit(raw[i+1])<<12 | ascii.HexDigit(raw[i+2])<<8 | ascii.HexDigit(raw[i+3])<<4 | ascii.HexDigit(raw[i+4]))
			i += 5
			out = utf8.AppendRune(out, r)
		case 'b':
			out, i = append(out, '\b'), i+1
		case 'f':
			out, i = append(out, '\f'), i+1
		case 'n':
			out, i = append(out, '\n'), i+1
		case 'r':
			out, i = append(out, '\r'), i+1
		case 't':
			out, i = append(out, '\t'), i+1
		default: // '"', '\\', '/'
			out, i = append(out, c), i+1
		}
		if len(out) > len(key) {
			return false
		}
	}
	return string(out) == key
}
