package route

// ParseRunner resolves a raw request path the way @bluelibs/runner's exposure router
// does (src/node/exposure/router.ts@5.5.0): the path is normalised as a URL parser
// would (backslashes are slashes, "." and ".." segments, also percent-encoded, are
// resolved); under base, empty segments are dropped; the first segment is the kind
// ("discovery" ignores the rest), and the other segments, joined with "/", are the id,
// percent-decoded as decodeURIComponent does (a bad escape or invalid UTF-8 is no route).
//
// under reports whether the path is base itself or below it: runner answers paths
// outside the base with a bare 404 and those under it like any other request. The id is
// decoded into dst[:0] (aliasing it when it fits); scratch holds the normalised path.
func ParseRunner(dst, scratch, path []byte, base string) (kind Kind, id, scratchOut []byte, under bool, err error) {
	scratch = normalisePath(scratch[:0], path)
	p := scratch
	if string(p) != base && !(len(p) > len(base) && string(p[:len(base)]) == base && p[len(base)] == '/') {
		return None, nil, scratch, false, ErrNotFound
	}
	rest := p[len(base):]
	first, rest := nextSegment(rest)
	switch string(first) {
	case "discovery":
		return Discovery, nil, scratch, true, nil
	case "task":
		kind = Task
	case "event":
		kind = Event
	default:
		return None, nil, scratch, true, ErrNotFound
	}
	id = dst[:0]
	n := 0
	for {
		var seg []byte
		seg, rest = nextSegment(rest)
		if seg == nil {
			break
		}
		if n > 0 {
			id = append(id, '/')
		}
		var uerr error
		if id, uerr = Unescape(id, seg); uerr != nil {
			return None, nil, scratch, true, uerr
		}
		n++
	}
	if n == 0 {
		return None, nil, scratch, true, ErrNotFound
	}
	return kind, id, scratch, true, nil
}

// nextSegment returns the next non-empty "/"-separated segment of p and what follows
// it; nil when there is none.
func nextSegment(p []byte) (seg, rest []byte) {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	if len(p) == 0 {
		return nil, nil
	}
	i := 0
	for i < len(p) && p[i] != '/' {
		i++
	}
	return p[:i], p[i:]
}

// normalisePath appends path to dst with backslashes turned into slashes and dot
// segments removed (RFC 3986 section 5.2.4, with WHATWG's percent-encoded dots).
func normalisePath(dst, path []byte) []byte {
	start := len(dst)
	for i := 0; i < len(path); {
		// path[i] starts a segment (after a '/', or at 0).
		j := i
		if path[j] == '/' || path[j] == '\\' {
			j++
		}
		k := j
		for k < len(path) && path[k] != '/' && path[k] != '\\' {
			k++
		}
		seg := path[j:k]
		last := k == len(path)
		switch {
		case isDot(seg):
			if last {
				dst = append(dst, '/')
			}
		case isDotDot(seg):
			// Drop the previous segment.
			for len(dst) > start && dst[len(dst)-1] != '/' {
				dst = dst[:len(dst)-1]
			}
			if len(dst) > start {
				dst = dst[:len(dst)-1]
			}
			if last {
				dst = append(dst, '/')
			}
		default:
			if j > i {
				dst = append(dst, '/')
			}
			dst = append(dst, seg...)
		}
		i = k
	}
	if len(dst) == start {
		dst = append(dst, '/')
	}
	return dst
}

func isDot(s []byte) bool {
	return string(s) == "." || len(s) == 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E')
}

func isDotDot(s []byte) bool {
	switch len(s) {
	case 2:
		return string(s) == ".."
	case 4:
		return isDot(s[:1]) && isDot(s[1:]) || isDot(s[:3]) && s[3] == '.'
	case 6:
		return isDot(s[:3]) && isDot(s[3:])
	}
	return false
}
