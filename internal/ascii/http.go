package ascii

// The byte classes of HTTP field lines (RFC 9110 5.1, 5.5, 5.6.2, 5.6.4) and of header
// parameters (RFC 8187), defined once in one table: the request guard
// (internal/httpguard), the configuration (internal/config), the headers a handler sets
// (internal/server) and the multipart reader (internal/multipart) all check against it.

const (
	tchar     = 1 << iota // token character: ALPHA, DIGIT, "!#$%&'*+-.^_`|~"
	fieldByte             // field-value byte: HTAB, SP, VCHAR, obs-text (0x80-0xFF)
	qdtext                // quoted-string text: a field-value byte but DQUOTE and backslash
	charsetc              // RFC 8187 mime-charsetc (busboy's CHARSET): ALPHA, DIGIT, "!#$%&+-^_`{}~"
	attrChar              // RFC 8187 attr-char (busboy's EXTENDED_VALUE): ALPHA, DIGIT, "!#$&+-.^_`|~"
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] |= tchar | charsetc | attrChar
		}
		if c == '\t' || c >= 0x20 && c != 0x7f {
			t[c] |= fieldByte
			if c != '"' && c != '\\' {
				t[c] |= qdtext
			}
		}
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] |= tchar
	}
	for _, c := range []byte("!#$%&+-^_`{}~") {
		t[c] |= charsetc
	}
	for _, c := range []byte("!#$&+-.^_`|~") {
		t[c] |= attrChar
	}
	return t
}()

// IsQDText reports whether c may appear unescaped in a quoted-string.
func IsQDText(c byte) bool { return class[c]&qdtext != 0 }

// IsCharsetChar reports whether c may appear in an RFC 8187 charset name.
func IsCharsetChar(c byte) bool { return class[c]&charsetc != 0 }

// IsAttrChar reports whether c may appear unencoded in an RFC 8187 ext-value.
func IsAttrChar(c byte) bool { return class[c]&attrChar != 0 }

// IsTchar reports whether c may appear in a token (a field name, a method).
func IsTchar(c byte) bool { return class[c]&tchar != 0 }

// IsFieldByte reports whether c may appear in a field value: any byte but the controls
// (0x00-0x1F and DEL) except HTAB. obs-text (0x80-0xFF) is allowed, as Node's
// setHeader allows it.
func IsFieldByte(c byte) bool { return class[c]&fieldByte != 0 }

// IsToken reports whether s is an RFC 9110 token: at least one tchar, nothing else.
func IsToken[S ~string | ~[]byte](s S) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if class[s[i]]&tchar == 0 {
			return false
		}
	}
	return true
}

// IsFieldValue reports whether every byte of v is a field-value byte (IsFieldByte). It
// does not ask for the leading and trailing whitespace a parser would trim to be absent:
// Node sends a value as set.
func IsFieldValue[S ~string | ~[]byte](v S) bool {
	for i := 0; i < len(v); i++ {
		if class[v[i]]&fieldByte == 0 {
			return false
		}
	}
	return true
}
