package jsonscan

// The recursive scanner this package had until issue 16 (a body nested deeply enough
// overflowed the goroutine stack, killing the process), kept as the reference the
// iterative one must agree with, error for error, at depths it can still handle.

import (
	"unicode/utf8"

	"github.com/bluelibs/runner-native/internal/ascii"
)

func refMembers(doc []byte, a, b string, maxDepth int) (va, vb []byte, isObject bool, err error) {
	s := refScanner{b: doc, max: maxDepth}
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
	if err := s.container('}'); err != nil {
		return nil, nil, false, err
	}
	return s.found, s.found2, true, s.end()
}

type refScanner struct {
	b     []byte
	i     int
	depth int
	max   int

	// Member capture: when capture is set, the value of every member named want (want2)
	// of the outermost object is recorded in found (found2); the last one wins.
	want, want2   string
	capture       bool
	found, found2 []byte
}

func (s *refScanner) end() error {
	s.skipSpace()
	if s.i != len(s.b) {
		return ErrSyntax
	}
	return nil
}

func (s *refScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *refScanner) value() error {
	if s.i >= len(s.b) {
		return ErrSyntax
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.container('}')
	case c == '[':
		return s.container(']')
	case c == '"':
		_, _, _, err := s.str()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return ErrSyntax
}

// container scans an object or an array; close is its closing bracket.
func (s *refScanner) container(close byte) error {
	s.depth++
	if s.depth > s.max {
		return ErrTooDeep
	}
	s.i++
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		s.depth--
		return nil
	}
	for {
		s.skipSpace()
		wanted := 0
		if close == '}' {
			ks, ke, escaped, err := s.str()
			if err != nil {
				return err
			}
			if s.capture && s.depth == 1 {
				if refKeyEquals(s.b[ks:ke], escaped, s.want) {
					wanted = 1
				} else if s.want2 != "" && refKeyEquals(s.b[ks:ke], escaped, s.want2) {
					wanted = 2
				}
			}
			s.skipSpace()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return ErrSyntax
			}
			s.i++
			s.skipSpace()
		}
		vs := s.i
		if err := s.value(); err != nil {
			return err
		}
		switch wanted {
		case 1:
			s.found = s.b[vs:s.i]
		case 2:
			s.found2 = s.b[vs:s.i]
		}
		s.skipSpace()
		if s.i >= len(s.b) {
			return ErrSyntax
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			s.depth--
			return nil
		default:
			return ErrSyntax
		}
	}
}

func (s *refScanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return ErrSyntax
	}
	s.i += len(word)
	return nil
}

func (s *refScanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

func (s *refScanner) number() error {
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
func (s *refScanner) str() (start, end int, escaped bool, err error) {
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

func (s *refScanner) escape() error {
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

// refKeyEquals compares a raw (still escaped) member name with key. Escaped names are rare
// ("\u0069nput" is "input"); only they pay for decoding.
func refKeyEquals(raw []byte, escaped bool, key string) bool {
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
