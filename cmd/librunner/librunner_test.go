package main

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/wire"
)

type signals struct {
	mu  sync.Mutex
	got []int32
}

func (s *signals) send(what int32) {
	s.mu.Lock()
	s.got = append(s.got, what)
	s.mu.Unlock()
}

func TestNotifierSignalsOnlyWhileArmed(t *testing.T) {
	var n notifier
	var s signals
	n.signal(wire.SignalWake) // before listen: nothing to call
	n.arm(s.send)
	n.signal(wire.SignalWake)
	n.close(wire.SignalClosed)
	n.signal(wire.SignalWake) // after CLOSED: never
	n.arm(s.send)             // a closed notifier does not arm again
	n.signal(wire.SignalWake)
	n.close(wire.SignalClosed)
	assert.Equal(t, []int32{wire.SignalWake, wire.SignalClosed}, s.got)
	assert.Nil(t, n.send, "the C callback is forgotten")
}

func TestNotifierDetachStopsEverything(t *testing.T) {
	var n notifier
	var s signals
	n.arm(s.send)
	n.detach()
	n.signal(wire.SignalWake)
	n.close(wire.SignalClosed)
	assert.Empty(t, s.got)
	assert.Equal(t, detached, n.state)
}

// A failed listen never arms: the addon may free what it passed at once.
func TestFailedListenLeavesNothingArmed(t *testing.T) {
	cfg := config.Defaults(config.Seed)
	cfg.Host = "127.0.0.1"
	first := newInstance(cfg)
	require.NoError(t, first.srv.Bind())
	cfg.Port = first.srv.Port()
	second := newInstance(cfg)
	require.Error(t, second.srv.Bind())
	assert.Equal(t, unarmed, second.sig.state)
	assert.Nil(t, second.sig.send)
	first.port.Close()
	second.port.Close()
}

func TestEveryStatHasAReader(t *testing.T) {
	for _, name := range wire.Stats {
		assert.NotNil(t, statReaders[name], name)
	}
	assert.Len(t, statReaders, len(wire.Stats))
	in := newInstance(config.Defaults(config.Seed))
	defer in.port.Close()
	assert.Len(t, in.stats(), len(wire.Stats))
}

func TestDecodeRegistrations(t *testing.T) {
	batch := []byte{wire.KindTask, wire.RegListed, 3, 0, 7, 0, 0, 0, 'a', '.', 'b', wire.KindEvent, wire.RegMissing, 1, 0, 0, 0, 0, 0, 'e'}
	regs, ok := decodeRegistrations(batch)
	require.True(t, ok)
	require.Len(t, regs, 2)
	assert.Equal(t, "a.b", regs[0].ID)
	assert.EqualValues(t, 7, regs[0].Slot)
	assert.True(t, regs[0].Listed)
	assert.True(t, regs[1].Missing)
	_, ok = decodeRegistrations(batch[:10])
	assert.False(t, ok, "a cut batch is refused")
	_, ok = decodeRegistrations([]byte{9, 0, 0, 0, 0, 0, 0, 0})
	assert.False(t, ok, "an unknown kind is refused")
}
