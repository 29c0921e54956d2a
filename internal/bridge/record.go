package bridge

import (
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// recordSize is the room the record of c takes in a drain buffer.
func recordSize(c *server.Call) int { return wire.RecordSize(c.Input, &c.Extras) }

// putCall writes the record of call id into rec (at least recordSize(c) long) and
// returns its size.
func putCall(rec []byte, id uint32, c *server.Call) int {
	var flags byte
	if c.HasInput {
		flags |= wire.FlagHasInput
	}
	aux := c.Check
	switch {
	case c.Parts != nil:
		flags |= wire.FlagMultipart
		aux = uint16(len(c.Early)) // the parts whose records follow the call
	case c.Body != nil:
		flags |= wire.FlagBodyStream
	}
	return wire.PutRecord(rec, id, byte(c.Op), flags, aux, uint32(c.Slot), c.Input, &c.Extras)
}
