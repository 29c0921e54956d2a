package bridge

import "github.com/bluelibs/runner-native/internal/wire"

// Refuse stops an answer stream the server will not send because its head is not
// valid HTTP (internal/server answers the call 500 instead): JavaScript is told to stop
// producing it (wire.AbortBadHeader), and its slot and load are freed. It is not a
// disconnect: the Close that follows counts nothing.
func (s *respStream) Refuse() {
	s.abort(wire.AbortBadHeader)
	s.finish()
}
