package route

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/wire"
)

func TestParse(t *testing.T) {
	cases := []struct {
		path, base string
		kind       Kind
		id         string
	}{
		{"/__runner/task/app.tasks.add", "/__runner", Task, "app.tasks.add"},
		{"/__runner/event/app.events.notify", "/__runner", Event, "app.events.notify"},
		{"/__runner/discovery", "/__runner", Discovery, ""},
		{"/__runner/task/a%2Fb", "/__runner", Task, "a/b"},
		{"/__runner/task/a%2eb", "/__runner", Task, "a.b"},
		{"/__runner/task/%E2%9C%93%F0%9F%98%80", "/__runner", Task, "✓😀"},
		{"/__runner/task/a+b", "/__runner", Task, "a+b"},
		{"/__runner/task/a/b", "/__runner", Task, "a/b"},
		{"/task/x", "", Task, "x"},
		{"/api/v1/task/x", "/api/v1", Task, "x"},
	}
	for _, c := range cases {
		kind, id, err := Parse(nil, []byte(c.path), c.base)
		require.NoError(t, err, c.path)
		assert.Equal(t, c.kind, kind, c.path)
		assert.Equal(t, c.id, string(id), c.path)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]error{
		"/":                          ErrNotFound,
		"/__runner":                  ErrNotFound,
		"/__runner/":                 ErrNotFound,
		"/__runnerx/task/a":          ErrNotFound,
		"/other/task/a":              ErrNotFound,
		"/__runner/task/":            ErrNotFound,
		"/__runner/tasks/a":          ErrNotFound,
		"/__runner/discovery/x":      ErrNotFound,
		"/__runner/task/a%2":         ErrBadEscape,
		"/__runner/task/a%zz":        ErrBadEscape,
		"/__runner/task/%":           ErrBadEscape,
		"/__runner/task/%ff":         ErrBadUTF8,
		"/__runner/event/%C3%28oops": ErrBadUTF8,
	}
	for path, want := range cases {
		_, _, err := Parse(nil, []byte(path), "/__runner")
		assert.ErrorIs(t, err, want, path)
	}
}

func TestParseReusesBuffer(t *testing.T) {
	buf := make([]byte, 0, 64)
	path := []byte("/__runner/task/app%2Etasks%2Eadd")
	allocs := testing.AllocsPerRun(100, func() {
		_, id, _ := Parse(buf, path, "/__runner")
		if string(id) != "app.tasks.add" {
			t.Fatal(string(id))
		}
	})
	assert.Zero(t, allocs)
}

func BenchmarkParse(b *testing.B) {
	buf := make([]byte, 0, 64)
	path := []byte("/__runner/task/app.tasks.add")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _, _ = Parse(buf, path, "/__runner")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/__runner/task/a", "/__runner/task/%41%2F", "/__runner/event/%", "/__runner/discovery"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, path []byte) {
		kind, id, err := Parse(nil, path, "/__runner")
		if err != nil {
			return
		}
		if kind == Task || kind == Event {
			if len(id) == 0 {
				t.Fatalf("empty id accepted for %q", path)
			}
			// A decoded id re-encoded and decoded again is unchanged.
			again, err := Unescape(nil, escape(id))
			if err != nil || string(again) != string(id) {
				t.Fatalf("round trip of %q: %q, %v", id, again, err)
			}
		}
	})
}

func escape(b []byte) []byte {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(b)*3)
	for _, c := range b {
		out = append(out, '%', hex[c>>4], hex[c&15])
	}
	return out
}

// Each case: a raw path under base "/__runner", and what runner's router makes of it.
func TestParseRunner(t *testing.T) {
	cases := []struct {
		path  string
		under bool
		kind  Kind
		id    string
		err   error
	}{
		{"/__runner/task/app.tasks.add", true, Task, "app.tasks.add", nil},
		{"/__runner/event/app.events.notify", true, Event, "app.events.notify", nil},
		{"/__runner/discovery", true, Discovery, "", nil},
		{"/__runner/discovery/anything/else", true, Discovery, "", nil},
		{"/__runner//task//a//b/", true, Task, "a/b", nil},
		{"/__runner/task/a%2Fb", true, Task, "a/b", nil},
		{"/__runner/task/%E2%9C%93", true, Task, "✓", nil},
		{"/__runner/task/x/../y", true, Task, "y", nil},
		{"/__runner/task/x/%2e%2e/y", true, Task, "y", nil},
		{"/__runner/./task/./z", true, Task, "z", nil},
		{"\\__runner\\task\\w", true, Task, "w", nil},
		{"/__runner/task", true, None, "", ErrNotFound},
		{"/__runner/task/", true, None, "", ErrNotFound},
		{"/__runner/unknown/x", true, None, "", ErrNotFound},
		{"/__runner", true, None, "", ErrNotFound},
		{"/__runner/", true, None, "", ErrNotFound},
		{"/__runner/task/a%zz", true, None, "", ErrBadEscape},
		{"/__runner/task/%ff", true, None, "", ErrBadUTF8},
		{"/__runnerx/task/a", false, None, "", ErrNotFound},
		{"/other", false, None, "", ErrNotFound},
		{"/__runner/../task/a", false, None, "", ErrNotFound},
	}
	for _, c := range cases {
		kind, id, _, under, err := ParseRunner(nil, nil, []byte(c.path), "/__runner")
		assert.Equal(t, c.under, under, c.path)
		assert.Equal(t, c.kind, kind, c.path)
		assert.Equal(t, c.id, string(id), c.path)
		assert.ErrorIs(t, err, c.err, c.path)
		if c.err == nil {
			assert.NoError(t, err, c.path)
		}
	}
}

func TestParseRunnerAllocatesNothing(t *testing.T) {
	dst, scratch := make([]byte, 0, 64), make([]byte, 0, 64)
	path := []byte("/__runner/task/app.tasks%2Eadd")
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_, id, s, _, _ := ParseRunner(dst, scratch, path, "/__runner")
		dst, scratch = id[:0], s[:0]
	}))
}

// One task/event kind: route's kinds are the wire's record kinds, decoded by FromWire
// alone, and Discovery (never sent) is none of the wire's kinds.
func TestKindsAreTheWireKinds(t *testing.T) {
	assert.EqualValues(t, wire.KindTask, Task)
	assert.EqualValues(t, wire.KindEvent, Event)
	assert.Equal(t, Task, FromWire(wire.KindTask))
	assert.Equal(t, Event, FromWire(wire.KindEvent))
	for b := 0; b < 256; b++ {
		if b != wire.KindTask && b != wire.KindEvent {
			assert.Equal(t, None, FromWire(byte(b)), "byte %d", b)
		}
	}
	for _, k := range []int{wire.KindTask, wire.KindEvent, wire.KindCheck, wire.KindAbort, wire.KindNotice, wire.KindCredit, wire.KindBody} {
		assert.NotEqualValues(t, k, Discovery)
	}
}
