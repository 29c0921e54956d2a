package server

import (
	"github.com/bluelibs/runner-native/internal/jsonscan"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/route"
	"github.com/bluelibs/runner-native/internal/wire"
)

// The call's input from a JSON body, by each protocol's rules (the body itself is read
// by body.go). On failure the request has been answered.

// seedBody applies the seed protocol's body rules: an object whose "input" (task) or
// "payload" (event) member is the input, and an event's "returnPayload", raw.
func (s *Server) seedBody(r *request, kind route.Kind, body []byte) bool {
	c := r.c
	value, ret, isObject, err := jsonscan.Members(body, memberName(kind), "returnPayload", s.cfg.MaxJSONDepth)
	if err == nil && !isObject {
		err = jsonscan.ErrNotObject
	}
	if err != nil {
		s.fail(r, protocol.InvalidJSON, []byte(err.Error()))
		return false
	}
	c.Input, c.HasInput = value, value != nil
	if kind == route.Event && ret != nil {
		c.Extras[wire.ExtraReturnPayload] = ret
	}
	return true
}

// runnerBody applies runner's body rules. Task: a non-object body is the input; an
// object with an own "input" member gives that member, any other object is the input
// itself. Event: an object's "payload" member (else undefined) and its "returnPayload"
// member, passed along raw for JavaScript to judge its truthiness after decoding.
func (s *Server) runnerBody(r *request, op route.Kind, body []byte) bool {
	c := r.c
	value, ret, isObject, err := jsonscan.Members(body, memberName(op), "returnPayload", s.cfg.MaxJSONDepth)
	if err != nil {
		s.fail(r, protocol.InvalidJSON, nil)
		return false
	}
	if op == OpTask {
		if isObject && value != nil {
			c.Input = value
		} else {
			c.Input = body
		}
		c.HasInput = true
		return true
	}
	if isObject {
		c.Input, c.HasInput = value, value != nil
		if ret != nil {
			c.Extras[wire.ExtraReturnPayload] = ret
		}
	}
	return true
}

// memberName is the body member that carries a seed call's argument.
func memberName(op route.Kind) string {
	if op == OpEvent {
		return "payload"
	}
	return "input"
}
