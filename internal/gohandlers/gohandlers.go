// Package gohandlers runs task and event handlers written in Go. It is the Invoker of
// the pure-Go server (cmd/runner-go), which serves the same protocol as the Node addon
// and is both the test double for Go tests and the benchmark ceiling.
package gohandlers

import (
	"sync"
	"sync/atomic"

	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// truthy reports whether a raw JSON value is truthy in JavaScript's sense: an event
// answers its result only when the body's returnPayload is.
func truthy(raw []byte) bool {
	switch string(raw) {
	case "", "false", "null", "0", "-0", `""`:
		return false
	}
	return true
}

// Func handles one call. input is the raw JSON of the input or payload (nil when
// absent); it is only valid during the call. A nil result means "no result". A non-nil
// error answers 500 INTERNAL_ERROR with the error's text as message (the seed protocol
// shows it; runner's hides it, as runner does for untyped errors).
type Func func(input []byte) (result []byte, err error)

// Set is a registry of Go handlers. Safe for concurrent use.
type Set struct {
	reg   *registry.Registry
	mu    sync.Mutex
	funcs atomic.Pointer[[]Func] // slot -> handler, copy-on-write
}

// New returns an empty Set that registers its ids in reg.
func New(reg *registry.Registry) *Set { return &Set{reg: reg} }

// Task registers a task handler.
func (s *Set) Task(id string, f Func) { s.add(route.Task, id, f) }

// Event registers an event handler.
func (s *Set) Event(id string, f Func) { s.add(route.Event, id, f) }

func (s *Set) add(kind route.Kind, id string, f Func) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var old []Func
	if p := s.funcs.Load(); p != nil {
		old = *p
	}
	next := append(old[:len(old):len(old)], f)
	s.funcs.Store(&next)
	s.reg.Apply(0, []registry.Registration{{Kind: kind, ID: id, Slot: int32(len(next) - 1), Listed: true}})
}

// Invoke implements server.Invoker. Checks (auth validators, dynamic origins) are
// refused: Go handlers have no such policies.
func (s *Set) Invoke(c *server.Call) {
	if c.Op == server.OpCheck {
		c.SetVerdict(false, nil)
		return
	}
	funcs := *s.funcs.Load()
	t := c.Entry.Targets[0]
	var input []byte
	if c.HasInput {
		input = c.Input
	}
	result, err := funcs[t.Slot](input)
	switch {
	case err != nil:
		c.SetHandlerError(500, nil, []byte(err.Error()), nil, nil, 0, false)
	case result != nil && (c.Op == server.OpTask || truthy(c.Extras[wire.ExtraReturnPayload])):
		c.SetResult(result)
	default:
		c.SetNoResult()
	}
}
