package jsonscan

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A body nested millions of levels deep, with a maxJsonDepth that allows it: the
// recursive scanner overflowed the goroutine stack here ("goroutine stack exceeds
// 1000000000-byte limit", a fatal error no recover catches: Node gone).
func TestMillionsOfLevels(t *testing.T) {
	const n = 5_000_000
	deep := append(append([]byte(`{"input":`), bytes.Repeat([]byte("["), n)...), bytes.Repeat([]byte("]"), n)...)
	deep = append(deep, '}')
	v, _, isObject, err := Members(deep, "input", "returnPayload", n+1)
	require.NoError(t, err)
	assert.True(t, isObject)
	assert.Equal(t, 2*n, len(v), "the member is every bracket")
	_, _, _, err = Members(deep, "input", "returnPayload", n)
	assert.ErrorIs(t, err, ErrTooDeep, "one level past the limit")

	// issue 16's request: 10 MiB of '[' with maxJsonDepth 5,000,000, and with the most
	// a config allows.
	opens := bytes.Repeat([]byte("["), 10<<20)
	_, _, _, err = Members(opens, "input", "returnPayload", 5_000_000)
	assert.ErrorIs(t, err, ErrTooDeep)
	_, _, _, err = Members(opens, "input", "returnPayload", 1<<31-1)
	assert.ErrorIs(t, err, ErrSyntax, "never closed")
	assert.ErrorIs(t, Valid(opens, 1<<31-1), ErrSyntax)
	_, _, err = Member(append([]byte(`{"a":`), opens...), "a", 1<<31-1)
	assert.ErrorIs(t, err, ErrSyntax)
}

// Objects and arrays alternating past the in-place levels: each container is closed by
// its own bracket only.
func TestDeepMixedContainers(t *testing.T) {
	var doc, closing []byte
	for i := 0; i < 3000; i++ {
		if i%3 == 0 {
			doc = append(doc, `{"k":`...)
			closing = append([]byte("}"), closing...)
		} else {
			doc = append(doc, "[0,"...)
			closing = append([]byte("]"), closing...)
		}
	}
	good := append(append(append([]byte{}, doc...), "1"...), closing...)
	assert.NoError(t, Valid(good, 3000))
	assert.ErrorIs(t, Valid(good, 2999), ErrTooDeep)
	// The wrong bracket at any level is a syntax error, as the reference says.
	for _, at := range []int{0, 1, 500, 511, 512, 513, 2999} {
		bad := append(append(append([]byte{}, doc...), "1"...), closing...)
		i := len(bad) - 1 - at
		if bad[i] == '}' {
			bad[i] = ']'
		} else {
			bad[i] = '}'
		}
		_, _, _, ref := refMembers(bad, "k", "", 3000)
		_, _, _, err := Members(bad, "k", "", 3000)
		assert.ErrorIs(t, err, ErrSyntax, "bracket %d from the end", at)
		assert.Equal(t, ref, err)
	}
}

func TestDeepAllocatesOnlyPastInPlaceLevels(t *testing.T) {
	doc := []byte(`{"input":` + string(bytes.Repeat([]byte("["), smallLevels-1)) + string(bytes.Repeat([]byte("]"), smallLevels-1)) + `}`)
	allocs := testing.AllocsPerRun(20, func() { _, _, _, _ = Members(doc, "input", "", 1<<20) })
	assert.Zero(t, allocs, "512 levels live in place")
}

// nested builds open×n + core + closing×n, bounded to what the recursive reference
// can still scan.
func nested(n uint16, open, core, closing []byte) []byte {
	if len(open) > 64 || len(closing) > 64 || len(core) > 4096 {
		return nil
	}
	doc := make([]byte, 0, int(n)*(len(open)+len(closing))+len(core))
	doc = append(doc, bytes.Repeat(open, int(n))...)
	doc = append(doc, core...)
	return append(doc, bytes.Repeat(closing, int(n))...)
}

// FuzzDepth fuzzes the scanner at depth: documents nested thousands of levels deep from
// fuzzed pieces (open×n + core + closing×n), maxDepth fuzzed around their depth. The
// iterative scanner must agree with the recursive one it replaced: the same members,
// the same error.
func FuzzDepth(f *testing.F) {
	f.Add(uint16(5000), []byte("["), []byte("1"), []byte("]"), uint32(5000))
	f.Add(uint16(5000), []byte("["), []byte("1"), []byte("]"), uint32(4999))
	f.Add(uint16(3000), []byte(`{"input":[`), []byte(`"x"`), []byte("]}"), uint32(6000))
	f.Add(uint16(1000), []byte(`{"a":1,"input":`), []byte(`{}`), []byte(`,"b":[]}`), uint32(2000))
	f.Add(uint16(700), []byte(`[{"returnPayload":`), []byte(`null`), []byte(`}]`), uint32(1401))
	f.Add(uint16(600), []byte(`[ `), []byte(` `), []byte(` ]`), uint32(600))
	f.Add(uint16(513), []byte(`{"\u0069nput":`), []byte(`true`), []byte(`}`), uint32(513))
	f.Fuzz(func(t *testing.T, n uint16, open, core, closing []byte, maxDepth uint32) {
		doc := nested(n, open, core, closing)
		if doc == nil || maxDepth == 0 {
			return
		}
		max := int(maxDepth % 200_000)
		if max == 0 {
			max = 1
		}
		for _, d := range [][]byte{doc, append([]byte(`{"input":`), append(doc, '}')...)} {
			wa, wb, wo, werr := refMembers(d, "input", "returnPayload", max)
			ga, gb, gobj, gerr := Members(d, "input", "returnPayload", max)
			if werr != gerr || wo != gobj || !bytes.Equal(wa, ga) || !bytes.Equal(wb, gb) {
				t.Fatalf("%q (maxDepth %d): got %q %q %v %v, the reference %q %q %v %v", trim(d), max, trim(ga), trim(gb), gobj, gerr, trim(wa), trim(wb), wo, werr)
			}
		}
	})
}

func trim(b []byte) []byte {
	if len(b) > 200 {
		return append(append(append([]byte{}, b[:100]...), "…"...), b[len(b)-100:]...)
	}
	return b
}
