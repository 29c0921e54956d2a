package registry

import (
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/route"
)

func task(id string, slot int32) Registration {
	return Registration{Kind: route.Task, ID: id, Slot: slot, Listed: true}
}

func TestApplyLookupReplace(t *testing.T) {
	var r Registry
	r.Apply(0, []Registration{task("a", 0), {Kind: route.Event, ID: "a", Slot: 1, Listed: true}, task("b", 2)})
	assert.Equal(t, []Target{{0, 0}}, r.Lookup(route.Task, []byte("a")).Targets)
	assert.Equal(t, []Target{{0, 1}}, r.Lookup(route.Event, []byte("a")).Targets)
	assert.Nil(t, r.Lookup(route.Event, []byte("b")), "kinds have separate namespaces")

	r.Apply(0, []Registration{task("a", 7)})
	assert.Equal(t, []Target{{0, 7}}, r.Lookup(route.Task, []byte("a")).Targets, "a port's new slot replaces its old one")
	assert.Equal(t,
		`{"ok":true,"result":{"allowList":{"enabled":true,"tasks":["a","b"],"events":["a"]}}}`,
		string(r.Discovery(true)), "replacing keeps one entry, in first order")
}

func TestPortsShareIDsAndLeave(t *testing.T) {
	var r Registry
	r.Apply(0, []Registration{task("shared", 0), task("only0", 1)})
	r.Apply(1, []Registration{task("shared", 4)})
	assert.ElementsMatch(t, []Target{{0, 0}, {1, 4}}, r.Lookup(route.Task, []byte("shared")).Targets)
	r.RemovePort(0)
	assert.Equal(t, []Target{{1, 4}}, r.Lookup(route.Task, []byte("shared")).Targets)
	assert.Nil(t, r.Lookup(route.Task, []byte("only0")), "an id left without handlers disappears")
	assert.Contains(t, string(r.Discovery(true)), `"tasks":["shared"]`)
}

func TestMissingAndUnlisted(t *testing.T) {
	var r Registry
	r.Apply(0, []Registration{
		{Kind: route.Task, ID: "gone", Missing: true, Listed: true},
		{Kind: route.Task, ID: "hidden", Slot: 1, Listed: false},
	})
	gone := r.Lookup(route.Task, []byte("gone"))
	require.NotNil(t, gone)
	assert.True(t, gone.Missing)
	assert.Empty(t, gone.Targets)
	assert.NotNil(t, r.Lookup(route.Task, []byte("hidden")))
	assert.Equal(t, `{"ok":true,"result":{"allowList":{"enabled":false,"tasks":["gone"],"events":[]}}}`, string(r.Discovery(false)))
}

func TestDiscoveryIsBuiltOncePerVersion(t *testing.T) {
	var r Registry
	assert.Equal(t, `{"ok":true,"result":{"allowList":{"enabled":true,"tasks":[],"events":[]}}}`, string(r.Discovery(true)))
	r.Apply(0, []Registration{task("x", 0)})
	first := r.Discovery(true)
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Discovery(true) }), "cached until the next batch")
	r.Apply(0, []Registration{task("y", 1)})
	assert.NotEqual(t, string(first), string(r.Discovery(true)))
}

// 10,000 ids arrive as one batch (listen() sends every id at once): one copy of the
// tables, then every id resolves and is listed.
func TestTenThousandIDsInOneBatch(t *testing.T) {
	var r Registry
	batch := make([]Registration, 10000)
	for i := range batch {
		batch[i] = task("t"+strconv.Itoa(i), int32(i))
	}
	r.Apply(0, batch)
	assert.NotNil(t, r.Lookup(route.Task, []byte("t9999")))
	assert.Contains(t, string(r.Discovery(true)), `"t9999"`)
}

// bytesAllocated returns what one batch of n new ids allocates (deterministic, unlike time).
func bytesAllocated(n int) uint64 {
	batch := make([]Registration, n)
	for i := range batch {
		batch[i] = task("t"+strconv.Itoa(i), int32(i))
	}
	var r Registry
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r.Apply(0, batch)
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A batch costs O(n): twice the ids allocate about twice the bytes (a quadratic copy of
// the id list, which this once had, allocates four times as much).
func TestABatchIsLinear(t *testing.T) {
	small, large := bytesAllocated(10000), bytesAllocated(40000)
	ratio := float64(large) / float64(small)
	assert.Less(t, ratio, 6.0, "4x the ids allocated %.1fx the bytes", ratio)
}

func TestConcurrentLookupsDuringWrites(t *testing.T) {
	var r Registry
	r.Apply(0, []Registration{task("stable", 0)})
	var wg sync.WaitGroup
	var missing sync.Map
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				if r.Lookup(route.Task, []byte("stable")) == nil {
					missing.Store(i, true)
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		r.Apply(0, []Registration{{Kind: route.Event, ID: strconv.Itoa(i), Slot: int32(i), Listed: true}})
	}
	wg.Wait()
	n := 0
	missing.Range(func(any, any) bool { n++; return true })
	assert.Zero(t, n, "the stable id never vanished during writes")
}

func TestLookupAllocatesNothing(t *testing.T) {
	var r Registry
	r.Apply(0, []Registration{task("app.tasks.add", 3)})
	id := []byte("app.tasks.add")
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Lookup(route.Task, id) }))
}
