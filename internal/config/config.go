// Package config holds the settings of one server: their meaning, defaults, ranges and
// validation, in one place.
//
// JavaScript never validates a TunnelConfig itself: it encodes the object it was given
// (see lib/config.js: values JSON cannot carry, such as functions and RegExps, become
// {"$js": kind, "text": String(value)} markers) and Decode checks every field against
// the table in fields.go, returning either the effective Config or a *FieldError whose
// Kind tells JavaScript to throw a TypeError or a RangeError with its message.
package config

import (
	"strings"
	"time"

	"github.com/bluelibs/runner-native/internal/multipart"
)

// Protocol is the wire format a server speaks.
type Protocol string

// The protocols.
const (
	// Seed is the original runner-native protocol: numeric error codes with a codeName.
	Seed Protocol = "seed"
	// Runner is @bluelibs/runner's own exposure protocol (5.5.0, unchanged in 6.x):
	// string error codes, typed errors, security headers, request ids, fail-closed auth.
	Runner Protocol = "runner"
)

// Exposure says what happens to a task or event id nobody registered.
type Exposure string

// The exposure modes.
const (
	// Open: an unregistered id is 404 NOT_FOUND. The seed protocol's only mode.
	Open Exposure = "open"
	// List: only registered ids are exposed; any other id is 403 FORBIDDEN
	// ("Task <id> not exposed"), as runner's allow-list does. Runner's default.
	List Exposure = "list"
	// Closed: every task and event is 403 FORBIDDEN ("Exposure not enabled"), as runner
	// answers when no server-mode tunnel exists.
	Closed Exposure = "closed"
)

// Config is the whole configuration of one server. Field names in comments are the
// TunnelConfig names of index.d.ts; durations cross the boundary as milliseconds.
type Config struct {
	// Protocol is the wire format ("protocol"). Default Seed.
	Protocol Protocol

	// Port to listen on ("port", required). 0 picks a free port.
	Port int

	// Host is the address to bind ("host"). Default "" binds every interface, as Node's
	// server.listen(port) does; use "127.0.0.1" to accept local clients only.
	Host string

	// BasePath prefixes every route ("basePath"). Default "/__runner". Stored
	// normalised: one leading slash, no trailing one, "" for the root.
	BasePath string

	// CORS decides the Access-Control-* headers ("corsOrigins" or "cors").
	CORS CORS

	// MaxBodySize is the largest request body accepted, in bytes ("maxBodySize").
	// Default 10 MiB (seed) or 2 MiB (runner, as its JSON limit). Larger bodies get 413.
	// Raise it for big inputs: every accepted body is held in memory while its handler runs.
	MaxBodySize int

	// MaxStreamBodySize bounds a request body streamed to the handler
	// (application/octet-stream: ctx.body), in bytes ("maxStreamBodySize"). Default 0:
	// no limit, as runner sets none on the raw bodies it hands to tasks. A larger body
	// ends the stream with an error and is answered 413.
	MaxStreamBodySize int

	// Multipart bounds multipart/form-data bodies, runner's file uploads ("multipart",
	// runner protocol: nativeExposure maps http.limits.multipart to it). Absent:
	// runner's defaults (files of 20 MiB, 10 files, 100 fields of 1 MiB). Given: the
	// object as runner hands it to busboy, every member absent being unlimited but
	// fieldSize (1 MiB); Infinity is unlimited. See internal/multipart.
	Multipart multipart.Limits

	// MaxHeaderSize bounds the request line plus headers, in bytes ("maxHeaderSize").
	// Default 8 KiB (seed) or 16 KiB (runner, Node's default, room for x-runner-context).
	// It is also each busy connection's read buffer. Larger heads get 431.
	MaxHeaderSize int

	// MaxJSONDepth bounds how deeply a body may nest arrays and objects ("maxJsonDepth").
	// Default 512 (seed) or 1000 (runner, its serializer's maxDepth). Deeper bodies get
	// 400 INVALID_JSON before JavaScript sees them.
	MaxJSONDepth int

	// ReadTimeoutMs bounds the time to read one request, headers and body
	// ("readTimeoutMs"). Default 30000. It protects against slow clients (slowloris).
	ReadTimeoutMs int

	// RequestTimeoutMs bounds the time to receive a whole request, from its head to the
	// last byte of its body ("requestTimeoutMs", Node's server.requestTimeout). Default
	// 300000 (Node's); 0: no limit. readTimeoutMs bounds a JSON body whole, but a streamed
	// body (application/octet-stream, a multipart upload) only per read: without this, a
	// client sending one byte now and then holds its call for ever. Past it the request is
	// answered 408 (when its answer has not started) and the connection closes. Raise it
	// for uploads that legitimately take longer than five minutes.
	RequestTimeoutMs int

	// WriteTimeoutMs bounds the time to write one response ("writeTimeoutMs"). Default 30000.
	WriteTimeoutMs int

	// IdleTimeoutMs is how long a keep-alive connection may wait for its next request
	// ("idleTimeoutMs"). Default 30000 (runner protocol: 5000, Node's keepAliveTimeout,
	// announced as Keep-Alive: timeout=5 as nodeExposure does). close() closes idle
	// connections at once.
	IdleTimeoutMs int

	// MaxConnections bounds the connections served at once ("maxConnections").
	// Default 262144. Connections beyond it are answered 503 and closed.
	MaxConnections int

	// TaskTimeoutMs bounds how long a handler may take to settle ("taskTimeoutMs").
	// Default 0: no limit. A later call is answered 504 TIMEOUT, its ctx.signal fires
	// and its late result is dropped.
	TaskTimeoutMs int

	// MaxInFlight bounds the calls waiting for a JavaScript handler ("maxInFlight").
	// Default 10000, at most MaxInFlightLimit. Beyond it requests get 503 at once, so
	// memory stays bounded when handlers fall behind.
	MaxInFlight int

	// CloseTimeoutMs bounds close() ("closeTimeoutMs"; close({timeoutMs}) overrides it
	// per call). Default 10000. Past it, calls still running are answered 503, their
	// ctx.signal fires, connections are closed and close() resolves. Keep it below your
	// orchestrator's kill grace period (Kubernetes: 30 s).
	CloseTimeoutMs int

	// ReduceMemoryUsage releases idle keep-alive connections' buffers
	// ("reduceMemoryUsage"). Default false: about half the memory of an idle
	// connection, some more CPU per request.
	ReduceMemoryUsage bool

	// Auth decides who may call ("auth", "authValidator").
	Auth Auth

	// DisableDiscovery answers the discovery route 404 ("disableDiscovery"). Default false.
	DisableDiscovery bool

	// Exposure decides what an unregistered id gets ("exposure"). Default Open (seed)
	// or List (runner).
	Exposure Exposure

	// AuthFailureNotices tells JavaScript about each auth failure ("onAuthFailure" is a
	// function), for logging. Default false.
	AuthFailureNotices bool

	// AccessLog records every answered request for JavaScript ("onRequests" is a
	// function), delivered in batches. Default false: no record is made.
	AccessLog bool

	// ReusePort lets several servers listen on one port ("reusePort"). Default false.
	// Across processes (node:cluster, pm2) each binds with SO_REUSEPORT and the kernel
	// spreads connections (Linux; macOS accepts the bind without balancing). Within one
	// process, the servers of every JavaScript thread that listen on the same host and
	// port share one listener, and each call goes to the thread with the fewest calls
	// not yet answered among those that registered its id. They must use the same
	// configuration.
	ReusePort bool

	// Serializer is true when JavaScript decodes and encodes values with a custom
	// serializer ("serializer"); Go does not use it, it only checks its shape.
	Serializer bool
}

// Auth is the authentication policy.
type Auth struct {
	// Tokens are accepted in the Header request header, compared in constant time
	// ("auth.token", a string or a list). Empty: no token is accepted.
	Tokens []string
	// Header names the token header, lower-case ("auth.header"). Default "x-runner-token".
	Header string
	// AllowAnonymous lets every request in when there are neither tokens nor a
	// validator ("auth.allowAnonymous"). Runner protocol only: there, without it,
	// such a server answers 500 AUTH_NOT_CONFIGURED (runner fails closed).
	AllowAnonymous bool
	// Validator is true when JavaScript has an authValidator function: a request whose
	// token does not match is then asked of JavaScript before it is refused.
	Validator bool
}

// Required reports whether requests must prove who they are: a token or a validator is
// configured. When false, the seed protocol lets everything in, and the runner protocol
// does too with AllowAnonymous, else refuses everything with AUTH_NOT_CONFIGURED.
func (a Auth) Required() bool { return len(a.Tokens) > 0 || a.Validator }

// OriginMode is how Access-Control-Allow-Origin is chosen.
type OriginMode uint8

// The origin modes.
const (
	OriginAny     OriginMode = iota // "*"
	OriginFixed                     // one configured value, whatever the request's Origin
	OriginList                      // the request's Origin when listed
	OriginDynamic                   // JavaScript decides (a RegExp or a function)
	OriginNone                      // never sent (runner: credentials without an origin)
)

// CORS is the cross-origin policy. Both protocols share the actual-response rules; the
// preflight defaults differ and are captured in Methods, DefaultAllowHeaders and MaxAge.
type CORS struct {
	Mode OriginMode
	// Origins holds the fixed origin (OriginFixed) or the allowed list (OriginList).
	Origins []string
	// Cacheable says JavaScript's answer depends on the Origin alone (a RegExp), so Go
	// may remember it per origin. A function is asked on every request.
	Cacheable bool
	// Vary adds "Vary: Origin" when the answer depends on the request's Origin.
	Vary bool
	// Methods answer preflight (Access-Control-Allow-Methods). nil: the methods of the
	// route (seed: "POST, OPTIONS", discovery "GET, POST, OPTIONS").
	Methods []string
	// AllowedHeaders answer preflight; nil echoes Access-Control-Request-Headers, or
	// sends DefaultAllowHeaders when the request names none.
	AllowedHeaders      []string
	DefaultAllowHeaders string
	// ExposedHeaders go in Access-Control-Expose-Headers on actual responses.
	ExposedHeaders []string
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
	// MaxAge is Access-Control-Max-Age, as configured (runner prints any number as
	// String(n)); "" sends none.
	MaxAge string
}

// MaxInFlightLimit is the largest maxInFlight: call ids keep their slot in 24 bits.
const MaxInFlightLimit = 1 << 24

// Defaults shared with Go callers (tests, cmd/runner-go).
const (
	DefaultBasePath   = "/__runner"
	DefaultAuthHeader = "x-runner-token"
)

// NormaliseBasePath gives p exactly one leading slash and no trailing slash; the root
// ("/" or "") becomes "".
func NormaliseBasePath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// Millis converts a millisecond setting to a Duration.
func Millis(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
