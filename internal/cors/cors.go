// Package cors decides the CORS response headers for a request.
package cors

// Policy is the set of origins allowed to read responses. The zero Policy allows none.
type Policy struct {
	any     bool
	origins map[string]struct{}
}

// New returns the policy for a configured origin list. A list holding "*" allows every
// origin; an empty list allows none.
func New(origins []string) Policy {
	p := Policy{origins: make(map[string]struct{}, len(origins))}
	for _, o := range origins {
		if o == "*" {
			p.any = true
		}
		p.origins[o] = struct{}{}
	}
	return p
}

// Any reports whether every origin is allowed (Access-Control-Allow-Origin: *).
func (p *Policy) Any() bool { return p.any }

// AllowOrigin returns the value of Access-Control-Allow-Origin for a request whose Origin
// header is origin (empty when absent), or nil when the header must not be sent. The
// returned slice aliases origin or a constant; nothing is allocated.
func (p *Policy) AllowOrigin(origin []byte) []byte {
	if p.any {
		return star
	}
	if len(origin) == 0 {
		return nil
	}
	if _, ok := p.origins[string(origin)]; ok {
		return origin
	}
	return nil
}

var star = []byte("*")
