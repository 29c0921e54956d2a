package host

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/latency"
	"github.com/bluelibs/runner-native/internal/server"
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

func newTestInstance(t *testing.T, fields string) *instance {
	t.Helper()
	cfg, err := config.Decode([]byte(`{"port":0,"host":"127.0.0.1"` + fields + `}`))
	require.NoError(t, err)
	return &instance{cfg: cfg}
}

// A failed listen leaves nothing armed: the addon may free what it passed at once.
func TestFailedListenLeavesNothingArmed(t *testing.T) {
	first := newTestInstance(t, "")
	var s signals
	port, err := listen(first, s.send)
	require.NoError(t, err)
	defer first.grp.leave(first, 0, false)
	second := newTestInstance(t, `,"port":`+strconv.Itoa(port))
	_, err = listen(second, s.send)
	var le *server.ListenError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "EADDRINUSE", le.Code)
	assert.Equal(t, detached, second.sig.state)
	assert.Nil(t, second.sig.send, "the callback is forgotten")
	second.sig.signal(wire.SignalWake)
	assert.Empty(t, s.got)
}

// Servers of one process that listen on one port with reusePort share one listener;
// a different configuration is refused, naming the field.
func TestReusePortGroups(t *testing.T) {
	a := newTestInstance(t, `,"reusePort":true`)
	var s signals
	port, err := listen(a, s.send)
	require.NoError(t, err)
	b := newTestInstance(t, `,"reusePort":true,"port":`+strconv.Itoa(port))
	got, err := listen(b, s.send)
	require.NoError(t, err)
	assert.Equal(t, port, got)
	assert.Same(t, a.grp, b.grp)
	assert.Equal(t, 2, a.grp.pool.Ports())
	c := newTestInstance(t, `,"reusePort":true,"basePath":"/other","port":`+strconv.Itoa(port))
	_, err = listen(c, s.send)
	var le *server.ListenError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "ERR_REUSEPORT_CONFIG", le.Code)
	assert.Contains(t, le.Message, "config.basePath")
	b.grp.leave(b, time.Second, false)
	assert.Equal(t, 1, a.grp.pool.Ports(), "b left; a still serves")
	a.grp.leave(a, time.Second, false)
	groupsMu.Lock()
	assert.Empty(t, groups, "the last one to leave closes the listener and forgets the group")
	groupsMu.Unlock()
}

func TestEveryStatHasAReader(t *testing.T) {
	for _, name := range wire.Stats {
		assert.NotNil(t, statReaders[name], name)
	}
	assert.Len(t, statReaders, len(wire.Stats))
	in := newTestInstance(t, "")
	size := len(wire.Stats) + 1 + latency.Buckets // the counters, then the histogram's sum and buckets
	assert.Equal(t, make([]uint64, size), in.stats(), "zeros before listen")
	var s signals
	_, err := listen(in, s.send)
	require.NoError(t, err)
	defer in.grp.leave(in, 0, false)
	assert.Len(t, in.stats(), size)
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
