// Package gohandlers runs task and event handlers written in Go. It is the Invoker of
// the pure-Go server (cmd/runner-go), which serves the same protocol as the Node addon
// and is both the test double for Go tests and the benchmark ceiling.
package gohandlers

import (
	"sync"
	"sync/atomic"

	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/server"
)

// Func handles one call. input is the raw JSON of "input" or "payload" (nil when
// absent); it is only valid during the call. A nil result means "no result". A non-nil
// error answers 500 INTERNAL_ERROR with the error's text as message.
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
	s.reg.Set(kind, id, int32(len(next)-1))
}

// Invoke implements server.Invoker.
func (s *Set) Invoke(c *server.Call) {
	funcs := *s.funcs.Load()
	result, err := funcs[c.Slot](c.Input)
	switch {
	case err != nil:
		c.SetErrorString(envelope.Internal, err.Error())
	case result != nil:
		c.SetResult(result)
	default:
		c.SetNoResult()
	}
}
