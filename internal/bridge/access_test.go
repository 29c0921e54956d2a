package bridge_test

import (
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/wire"
)

func access(path string) *wire.Access {
	return &wire.Access{Status: 200, Method: []byte("POST"), Path: []byte(path)}
}

// paths decodes the paths of the access records of one NoticeAccess record's input.
func paths(input []byte) []string {
	var out []string
	for len(input) > 0 {
		n := wire.AccessSize(input)
		m := int(binary.LittleEndian.Uint16(input[wire.AccessAtLengths:]))
		p := int(binary.LittleEndian.Uint16(input[wire.AccessAtLengths+2:]))
		out = append(out, string(input[wire.AccessHeader+m:wire.AccessHeader+m+p]))
		input = input[n:]
	}
	return out
}

// Records ride along with the next exchange, whichever port of the pool makes it, in
// the order they came, in one notice record; a buffer too small takes the ones that fit
// and the next exchange the rest.
func TestAccessRecordsGoOutWithTheNextExchange(t *testing.T) {
	pl := bridge.NewPool()
	var wakes atomic.Int32
	a, _ := pl.Add(func() { wakes.Add(1) }, bridge.Options{})
	b, _ := pl.Add(func() { wakes.Add(1) }, bridge.Options{})
	defer a.Close()
	defer b.Close()
	for i := 0; i < 3; i++ {
		pl.Record(access("/r" + strconv.Itoa(i)))
	}
	assert.Zero(t, wakes.Load(), "recording wakes no thread: records wait for an exchange")

	one := wire.CallHeader + wire.AccessSize(wire.AppendAccess(nil, access("/r0")))
	small := make([]byte, one+one/2)
	n, need, err := b.Exchange(nil, small, wire.ExchangeFlush)
	require.NoError(t, err)
	require.Zero(t, need)
	recs := parse(small[:n])
	require.Len(t, recs, 1)
	assert.EqualValues(t, wire.KindNotice, recs[0].kind)
	assert.EqualValues(t, wire.NoticeAccess, recs[0].aux)
	assert.EqualValues(t, 1, recs[0].slot, "slot: how many records")
	assert.Zero(t, recs[0].id, "id: none dropped")
	assert.Equal(t, []string{"/r0"}, paths([]byte(recs[0].input)))

	buf := make([]byte, 64<<10)
	n, _, err = a.Exchange(nil, buf, wire.ExchangeFlush)
	require.NoError(t, err)
	recs = parse(buf[:n])
	require.Len(t, recs, 1)
	assert.Equal(t, []string{"/r1", "/r2"}, paths([]byte(recs[0].input)), "the rest, in order, to the other port")
	n, _, _ = a.Exchange(nil, buf, wire.ExchangeFlush)
	assert.Zero(t, n, "nothing left")

	tiny := make([]byte, wire.CallHeader)
	pl.Record(access("/r9"))
	n, need, _ = a.Exchange(nil, tiny, wire.ExchangeFlush)
	assert.Zero(t, n)
	assert.Equal(t, one, need, "a buffer too small for one record is told the room it needs")
}

// A JavaScript thread that never takes its records costs at most the bound: the excess
// is dropped and counted, and the next batch says how many.
func TestAccessRecordsAreBounded(t *testing.T) {
	pl := bridge.NewPool()
	p, _ := pl.Add(func() {}, bridge.Options{})
	defer p.Close()
	size := wire.AccessSize(wire.AppendAccess(nil, access("/x")))
	fit := (1 << 20) / size
	for i := 0; i < fit+500; i++ {
		pl.Record(access("/x"))
	}
	assert.EqualValues(t, 500, pl.Stats().RecordsDropped.Load())

	total, dropped := 0, uint32(0)
	buf := make([]byte, 2<<20)
	for {
		n, _, err := p.Exchange(nil, buf, wire.ExchangeFlush)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		for _, r := range parse(buf[:n]) {
			total += int(r.slot)
			dropped += r.id
		}
	}
	assert.Equal(t, fit, total, "every record kept is delivered")
	assert.EqualValues(t, 500, dropped, "the batch says how many were dropped before it")
}

// An idle thread is woken for records no exchange took, by its watcher, a tick later.
func TestWatcherWakesAnIdleThreadForRecords(t *testing.T) {
	pl := bridge.NewPool()
	woken := make(chan struct{}, 8)
	p, _ := pl.Add(func() {
		select {
		case woken <- struct{}{}:
		default:
		}
	}, bridge.Options{WatchInterval: 5 * time.Millisecond})
	defer p.Close()
	pl.Record(access("/idle"))
	<-woken // the test times out if no wake-up ever comes
	buf := make([]byte, 4096)
	n, _, err := p.Exchange(nil, buf, wire.ExchangeWake)
	require.NoError(t, err)
	recs := parse(buf[:n])
	require.Len(t, recs, 1)
	assert.Equal(t, []string{"/idle"}, paths([]byte(recs[0].input)))
}
