package bridge

import "github.com/bluelibs/runner-native/internal/wire"

// Refuse stops an answer stream the server will not send because its head is not
// valid HTTP (internal/server answers the call 500 instead): JavaScript is told to stop
// producing it (wire.AbortBadHeader). It is not a disconnect, and it leaves the
// connection's deadlines alone (the 500 is still to be written on it, where abort would
// cut a writer). The server's Close that follows frees the ring and the slot, as it
// always does (only Close may).
func (s *respStream) Refuse() {
	s.mu.Lock()
	open := s.state == streamOpen
	if open {
		s.state = streamAborted
	}
	s.mu.Unlock()
	s.signal()
	if open {
		s.p.abortStream(s.id, wire.AbortBadHeader)
	}
}
