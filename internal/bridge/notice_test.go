package bridge_test

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/wire"
)

func notice(status uint32, path string) []byte {
	var extras [wire.ExtraCount][]byte
	extras[wire.ExtraPath] = []byte(path)
	rec := make([]byte, wire.RecordSize(nil, &extras))
	wire.PutRecord(rec, 0, wire.KindNotice, 0, wire.NoticeAuthFailure, status, nil, &extras)
	return rec
}

// A flood of notices while JavaScript does not exchange: one record waits (the first,
// as sent), the others are only counted into its id, and one wake-up is sent.
func TestNoticesCoalesceWhileJavaScriptIsBehind(t *testing.T) {
	var wakes atomic.Int32
	p := bridge.NewPort(func() { wakes.Add(1) }, bridge.Options{}, nil)
	defer p.Close()
	rec := notice(401, "/first")
	p.Notify(rec)
	clear(rec) // Notify copied it: the caller may reuse its buffer
	for i := 0; i < 100000; i++ {
		p.Notify(notice(403, "/later"))
	}
	assert.Equal(t, int32(1), wakes.Load(), "one wake-up for all of them")

	buf := make([]byte, 4096)
	n, need, err := p.Exchange(nil, buf, wire.ExchangeWake)
	require.NoError(t, err)
	require.Zero(t, need)
	recs := parse(buf[:n])
	require.Len(t, recs, 1)
	assert.Equal(t, byte(wire.KindNotice), recs[0].kind)
	assert.Equal(t, uint32(100000), recs[0].id, "the count of the coalesced ones")
	assert.Equal(t, uint32(401), recs[0].slot)
	assert.Equal(t, "/first", recs[0].extras[wire.ExtraPath])

	// Drained: the next notice is alone again.
	p.Notify(notice(401, "/next"))
	n, _, err = p.Exchange(nil, buf, wire.ExchangeWake)
	require.NoError(t, err)
	recs = parse(buf[:n])
	require.Len(t, recs, 1)
	assert.Equal(t, uint32(0), recs[0].id)
	assert.Equal(t, "/next", recs[0].extras[wire.ExtraPath])
	n, _, _ = p.Exchange(nil, buf, wire.ExchangeFlush)
	assert.Zero(t, n, "nothing else was queued")
}

// A notice larger than the buffer is asked for, as any record is.
func TestNoticeLargerThanTheBuffer(t *testing.T) {
	p := bridge.NewPort(func() {}, bridge.Options{}, nil)
	defer p.Close()
	rec := notice(401, "/"+string(make([]byte, 300)))
	p.Notify(rec)
	n, need, err := p.Exchange(nil, make([]byte, 64), wire.ExchangeWake)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Equal(t, len(rec), need)
	buf := make([]byte, need)
	n, _, _ = p.Exchange(nil, buf, wire.ExchangeFlush)
	assert.Equal(t, len(rec), n)
}
