// Package registry maps task and event ids to handler slots.
//
// Lookups happen on every request from many goroutines; registrations are rare (start-up,
// or the odd late registration from JavaScript). So the tables are copy-on-write behind
// atomic pointers: a lookup takes no lock and allocates nothing.
package registry

import (
	"sync"
	"sync/atomic"

	json "github.com/goccy/go-json"

	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/route"
)

// Registry holds the ids of one server. The zero value is empty and ready to use.
type Registry struct {
	mu     sync.Mutex // serialises writers only
	tables atomic.Pointer[tables]
}

// tables is one immutable snapshot.
type tables struct {
	tasks, events map[string]int32
	taskIDs       []string // registration order, for discovery
	eventIDs      []string
	discovery     []byte // the whole discovery envelope, built once per snapshot
}

var empty = build(nil, nil, nil, nil)

func (r *Registry) load() *tables {
	if t := r.tables.Load(); t != nil {
		return t
	}
	return empty
}

// Set registers id under kind (route.Task or route.Event) at slot, replacing any earlier
// slot for the same id.
func (r *Registry) Set(kind route.Kind, id string, slot int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	tasks, events := old.tasks, old.events
	taskIDs, eventIDs := old.taskIDs, old.eventIDs
	switch kind {
	case route.Task:
		tasks, taskIDs = with(tasks, taskIDs, id, slot)
	case route.Event:
		events, eventIDs = with(events, eventIDs, id, slot)
	default:
		return
	}
	r.tables.Store(build(tasks, events, taskIDs, eventIDs))
}

func with(m map[string]int32, ids []string, id string, slot int32) (map[string]int32, []string) {
	next := make(map[string]int32, len(m)+1)
	for k, v := range m {
		next[k] = v
	}
	if _, ok := m[id]; !ok {
		ids = append(ids[:len(ids):len(ids)], id)
	}
	next[id] = slot
	return next, ids
}

func build(tasks, events map[string]int32, taskIDs, eventIDs []string) *tables {
	t := &tables{tasks: tasks, events: events, taskIDs: taskIDs, eventIDs: eventIDs}
	result, err := json.Marshal(discoveryResult{AllowList: allowList{
		Enabled: true,
		Tasks:   nonNil(taskIDs),
		Events:  nonNil(eventIDs),
	}})
	if err != nil { // cannot happen for strings; keep the envelope valid regardless
		result = []byte(`null`)
	}
	t.discovery = envelope.AppendResult(nil, result)
	return t
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type discoveryResult struct {
	AllowList allowList `json:"allowList"`
}

type allowList struct {
	Enabled bool     `json:"enabled"`
	Tasks   []string `json:"tasks"`
	Events  []string `json:"events"`
}

// Lookup returns the slot registered for id under kind.
func (r *Registry) Lookup(kind route.Kind, id []byte) (int32, bool) {
	t := r.load()
	var m map[string]int32
	switch kind {
	case route.Task:
		m = t.tasks
	case route.Event:
		m = t.events
	}
	slot, ok := m[string(id)] // no allocation: the compiler elides the conversion
	return slot, ok
}

// Discovery returns the discovery envelope,
// {"ok":true,"result":{"allowList":{"enabled":true,"tasks":[...],"events":[...]}}}.
// The slice is shared and must not be modified.
func (r *Registry) Discovery() []byte { return r.load().discovery }

// IDs returns the registered ids of kind in registration order.
func (r *Registry) IDs(kind route.Kind) []string {
	t := r.load()
	if kind == route.Event {
		return append([]string(nil), t.eventIDs...)
	}
	return append([]string(nil), t.taskIDs...)
}
