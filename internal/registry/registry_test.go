package registry

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/bluelibs/runner-native/internal/route"
)

func TestSetLookupReplace(t *testing.T) {
	var r Registry
	r.Set(route.Task, "a", 0)
	r.Set(route.Event, "a", 1)
	r.Set(route.Task, "b", 2)
	slot, ok := r.Lookup(route.Task, []byte("a"))
	assert.True(t, ok)
	assert.EqualValues(t, 0, slot)
	slot, ok = r.Lookup(route.Event, []byte("a"))
	assert.True(t, ok)
	assert.EqualValues(t, 1, slot)
	_, ok = r.Lookup(route.Event, []byte("b"))
	assert.False(t, ok, "kinds have separate namespaces")

	r.Set(route.Task, "a", 7)
	slot, _ = r.Lookup(route.Task, []byte("a"))
	assert.EqualValues(t, 7, slot)
	assert.Equal(t, []string{"a", "b"}, r.IDs(route.Task), "replacing keeps one entry, in first order")
}

func TestDiscovery(t *testing.T) {
	var r Registry
	assert.JSONEq(t, `{"ok":true,"result":{"allowList":{"enabled":true,"tasks":[],"events":[]}}}`, string(r.Discovery()))
	r.Set(route.Task, "app.tasks.add", 0)
	r.Set(route.Task, "app.tasks.greet", 1)
	r.Set(route.Event, "app.events.notify", 2)
	assert.Equal(t,
		`{"ok":true,"result":{"allowList":{"enabled":true,"tasks":["app.tasks.add","app.tasks.greet"],"events":["app.events.notify"]}}}`,
		string(r.Discovery()))
}

func TestConcurrentLookupsDuringWrites(t *testing.T) {
	var r Registry
	r.Set(route.Task, "stable", 0)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				if _, ok := r.Lookup(route.Task, []byte("stable")); !ok {
					t.Error("stable id vanished during a write")
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		r.Set(route.Event, string(rune('a'+i%26))+"x", int32(i))
	}
	wg.Wait()
}

func TestLookupAllocatesNothing(t *testing.T) {
	var r Registry
	r.Set(route.Task, "app.tasks.add", 3)
	id := []byte("app.tasks.add")
	assert.Zero(t, testing.AllocsPerRun(100, func() { r.Lookup(route.Task, id) }))
}
