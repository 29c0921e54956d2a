package server

import (
	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/httpguard"
)

// guardConfig sets up the httpguard listener that checks every request before fasthttp
// reads it, and bounds the open connections (maxConnections) with a JSON 503.
//
// The guard wraps the lingering connection, not the reverse: its Close writes a pending
// answer first, and the lingering close that follows half-closes and drains, so a client
// still sending reads that answer instead of a reset.
func (s *Server) guardConfig() httpguard.Config {
	header := "Vary: Origin\r\n" // no Origin was read: an explicit list allows nothing
	if s.cfg.CORS.Mode == config.OriginAny {
		header = "Access-Control-Allow-Origin: *\r\n"
	}
	return httpguard.Config{
		// Runner's exposure never sees what Node's HTTP parser refuses: Node answers it
		// with the bare status line. Its clients must see the same (HTTP_ERROR).
		Bare:         s.dialect.Runner(),
		MaxHeadSize:  s.cfg.MaxHeaderSize,
		MaxConns:     s.cfg.MaxConnections,
		Body:         s.guardAnswer,
		Header:       header,
		WriteTimeout: config.Millis(s.cfg.WriteTimeoutMs),
		ReadTimeout:  config.Millis(s.cfg.ReadTimeoutMs),
	}
}

// guardAnswer counts an answer the guard writes itself and builds its envelope.
func (s *Server) guardAnswer(dst []byte, r httpguard.Rejection) []byte {
	s.stats.Requests.Add(1)
	if malformedHTTP(&r, 0) {
		s.stats.RejectedHTTP.Add(1)
	}
	s.stats.count(r.Status)
	out, _ := s.appendGuard(dst, &r)
	return out
}
