// Package ascii holds byte-level helpers that several parsers share.
package ascii

// HexDigit is the value of the hexadecimal digit c (either case), or -1 when c is not one.
func HexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
