package server

import (
	crand "crypto/rand"
	"encoding/hex"
	"math/rand/v2"
	"sync"

	"github.com/bluelibs/runner-native/internal/wire"
)

const requestIDHeader = "X-Runner-Request-Id"

// ensureRequestID gives the request its x-runner-request-id, as runner's
// requestIdentity.ts does: the client's value when it is valid (trimmed, 1 to 128 of
// [A-Za-z0-9._:-]), else a new random UUID. It is echoed on the response and passed to
// JavaScript (for logs).
func (s *Server) ensureRequestID(r *request) {
	c := r.c
	var id []byte
	// Sent twice, Node joins the values with ", ", which is never a valid id.
	if all := r.ctx.Request.Header.PeekAll(requestIDHeader); len(all) == 1 {
		id = trimSpace(all[0])
	}
	if !validRequestID(id) {
		id = newUUID(c.rid[:])
	}
	c.Extras[wire.ExtraRequestID] = id
	r.ctx.Response.Header.SetBytesV(requestIDHeader, id)
}

func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, b := range id {
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case b == '.' || b == '_' || b == ':' || b == '-':
		default:
			return false
		}
	}
	return true
}

// trimSpace trims what JavaScript's String.prototype.trim would, for ASCII.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// ChaCha8 generators seeded from the system's CSPRNG: as unpredictable as crypto/rand,
// without a system call per request.
var uuidSources = sync.Pool{New: func() any {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return rand.NewChaCha8(seed)
}}

// newUUID writes a random (version 4) UUID into dst (36 bytes) and returns it.
func newUUID(dst []byte) []byte {
	src := uuidSources.Get().(*rand.ChaCha8)
	var b [16]byte
	_, _ = src.Read(b[:])
	uuidSources.Put(src)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	hex.Encode(dst[0:8], b[0:4])
	dst[8] = '-'
	hex.Encode(dst[9:13], b[4:6])
	dst[13] = '-'
	hex.Encode(dst[14:18], b[6:8])
	dst[18] = '-'
	hex.Encode(dst[19:23], b[8:10])
	dst[23] = '-'
	hex.Encode(dst[24:36], b[10:16])
	return dst[:36]
}
