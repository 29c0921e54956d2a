package jsonscan

// Member and Valid are Members and a plain validation as the tests use them: the server
// calls Members only, so they live with the tests.

// Member validates doc as exactly one JSON value, nested at most maxDepth levels, and
// requires it to be an object. It returns the raw bytes of the value of the member named
// key (the last one, as JSON.parse keeps the last of duplicate names) and whether there
// was one. value aliases doc.
func Member(doc []byte, key string, maxDepth int) (value []byte, found bool, err error) {
	s := scanner{b: doc, max: maxDepth}
	s.skipSpace()
	if s.i >= len(s.b) {
		return nil, false, ErrSyntax
	}
	if s.b[s.i] != '{' {
		if err := s.value(); err != nil {
			return nil, false, err
		}
		if err := s.end(); err != nil {
			return nil, false, err
		}
		return nil, false, ErrNotObject
	}
	s.want, s.capture = key, true
	if err := s.value(); err != nil {
		return nil, false, err
	}
	return s.found, s.found != nil, s.end()
}

// Valid reports whether doc is exactly one valid JSON value nested at most maxDepth
// levels deep.
func Valid(doc []byte, maxDepth int) error {
	s := scanner{b: doc, max: maxDepth}
	s.skipSpace()
	if err := s.value(); err != nil {
		return err
	}
	return s.end()
}
