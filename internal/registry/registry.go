// Package registry maps task and event ids to the handlers that serve them.
//
// Lookups happen on every request from many goroutines; registrations come in batches
// (listen() sends every id at once, later registrations are batched per JavaScript
// tick). So the tables are copy-on-write behind an atomic pointer: a lookup takes no
// lock and allocates nothing, and a batch of n registrations over m ids costs O(n + m).
package registry

import (
	"sync"
	"sync/atomic"

	json "github.com/goccy/go-json"

	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/route"
)

// Target is one handler of an id: the port (JavaScript thread) that registered it and
// the slot of the handler there.
type Target struct {
	Port int32
	Slot int32
}

// Entry is what one id resolves to. Entries are immutable once published.
type Entry struct {
	// Targets are the handlers of the id, one per port that registered it.
	Targets []Target
	// Missing marks an id that is known but has no handler: answered 404 (runner's
	// allow-listed id that is not in the store).
	Missing bool
	// Listed shows the id in discovery.
	Listed bool
}

// Registration is one change of a batch.
type Registration struct {
	Kind route.Kind // route.Task or route.Event
	ID   string
	Slot int32
	// Missing registers the id as known-but-absent (404) instead of a handler.
	Missing bool
	// Listed shows the id in discovery.
	Listed bool
}

// Registry holds the ids of one server. The zero value is empty and ready to use.
type Registry struct {
	mu     sync.Mutex // serialises writers only
	tables atomic.Pointer[tables]
}

type tables struct {
	tasks, events     map[string]*Entry
	taskIDs, eventIDs []string // registration order, for discovery
	discovery         atomic.Pointer[discovery]
}

var empty = &tables{tasks: map[string]*Entry{}, events: map[string]*Entry{}}

func (r *Registry) load() *tables {
	if t := r.tables.Load(); t != nil {
		return t
	}
	return empty
}

// Apply registers a batch for port: each registration replaces that port's earlier
// handler for the id (or its missing mark). One copy of the tables per batch.
func (r *Registry) Apply(port int32, batch []Registration) {
	if len(batch) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	// The id lists are copied once per batch (snapshots already published keep theirs),
	// then appended to freely.
	next := &tables{
		tasks: clone(old.tasks, batch, route.Task), events: clone(old.events, batch, route.Event),
		taskIDs:  append(make([]string, 0, len(old.taskIDs)+len(batch)), old.taskIDs...),
		eventIDs: append(make([]string, 0, len(old.eventIDs)+len(batch)), old.eventIDs...),
	}
	for _, reg := range batch {
		m, ids := next.tasks, &next.taskIDs
		if reg.Kind == route.Event {
			m, ids = next.events, &next.eventIDs
		} else if reg.Kind != route.Task {
			continue
		}
		prev, known := m[reg.ID]
		e := &Entry{Listed: reg.Listed}
		if known {
			for _, t := range prev.Targets {
				if t.Port != port {
					e.Targets = append(e.Targets, t)
				}
			}
			e.Listed = e.Listed || prev.Listed && len(e.Targets) > 0
		} else {
			*ids = append(*ids, reg.ID)
		}
		if reg.Missing {
			e.Missing = len(e.Targets) == 0
		} else {
			e.Targets = append(e.Targets, Target{Port: port, Slot: reg.Slot})
		}
		m[reg.ID] = e
	}
	r.tables.Store(next)
}

// RemovePort drops every handler of port (a JavaScript thread that left). Ids left
// with no handler disappear.
func (r *Registry) RemovePort(port int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	next := &tables{tasks: make(map[string]*Entry, len(old.tasks)), events: make(map[string]*Entry, len(old.events))}
	next.taskIDs = without(old.tasks, next.tasks, old.taskIDs, port)
	next.eventIDs = without(old.events, next.events, old.eventIDs, port)
	r.tables.Store(next)
}

func without(from, to map[string]*Entry, order []string, port int32) []string {
	var kept []string
	for _, id := range order {
		e := from[id]
		n := &Entry{Missing: e.Missing, Listed: e.Listed}
		for _, t := range e.Targets {
			if t.Port != port {
				n.Targets = append(n.Targets, t)
			}
		}
		if len(n.Targets) == 0 && !n.Missing {
			continue
		}
		to[id] = n
		kept = append(kept, id)
	}
	return kept
}

func clone(m map[string]*Entry, batch []Registration, kind route.Kind) map[string]*Entry {
	grow := 0
	for _, reg := range batch {
		if reg.Kind == kind {
			grow++
		}
	}
	if grow == 0 {
		return m
	}
	next := make(map[string]*Entry, len(m)+grow)
	for k, v := range m {
		next[k] = v
	}
	return next
}

// Lookup returns the entry of id under kind, or nil.
func (r *Registry) Lookup(kind route.Kind, id []byte) *Entry {
	t := r.load()
	m := t.tasks
	if kind == route.Event {
		m = t.events
	}
	return m[string(id)] // no allocation: the compiler elides the conversion
}

// Discovery returns the discovery envelope,
// {"ok":true,"result":{"allowList":{"enabled":E,"tasks":[...],"events":[...]}}}, with the
// listed ids in registration order. Built on first use per version of the tables; the
// slice is shared and must not be modified.
func (r *Registry) Discovery(enabled bool) []byte {
	t := r.load()
	if c := t.discovery.Load(); c != nil && c.enabled == enabled {
		return c.body
	}
	out, err := json.Marshal(discoveryResult{AllowList: allowList{
		Enabled: enabled, Tasks: listed(t.tasks, t.taskIDs), Events: listed(t.events, t.eventIDs),
	}})
	if err != nil { // cannot happen for strings; keep the envelope valid regardless
		out = []byte(`null`)
	}
	c := &discovery{enabled: enabled, body: envelope.AppendResult(nil, out)}
	t.discovery.Store(c)
	return c.body
}

// discovery is a built discovery envelope and the flag it was built for.
type discovery struct {
	enabled bool
	body    []byte
}

func listed(m map[string]*Entry, order []string) []string {
	out := []string{}
	for _, id := range order {
		if e := m[id]; e != nil && e.Listed {
			out = append(out, id)
		}
	}
	return out
}

type discoveryResult struct {
	AllowList allowList `json:"allowList"`
}

type allowList struct {
	Enabled bool     `json:"enabled"`
	Tasks   []string `json:"tasks"`
	Events  []string `json:"events"`
}
