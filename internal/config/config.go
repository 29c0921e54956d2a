// Package config holds the server's settings, their defaults and their validation.
//
// The JavaScript wrapper validates user input first (to throw TypeError/RangeError with
// the field's name); Validate repeats the checks so that the Go server is safe on its own.
package config

import (
	"fmt"
	"strings"
	"time"
)

// Config is the whole configuration of one server. JSON names match TunnelConfig in
// index.d.ts; durations cross the boundary as milliseconds.
type Config struct {
	// Port to listen on. 0 picks a free port (read it back from the server).
	Port int `json:"port"`

	// Host is the address to bind. Default "" binds every interface, as Node's
	// server.listen(port) does; use "127.0.0.1" to accept local clients only.
	Host string `json:"host"`

	// BasePath prefixes every route. Default "/__runner". Normalise keeps one leading
	// slash and no trailing one; "/" serves the routes at the root.
	BasePath string `json:"basePath"`

	// CorsOrigins lists the origins allowed to read responses. Default ["*"] (any).
	// An explicit list echoes a listed Origin back and adds "Vary: Origin".
	CorsOrigins []string `json:"corsOrigins"`

	// MaxBodySize is the largest request body accepted, in bytes. Default 10 MiB.
	// Larger bodies get 413 PAYLOAD_TOO_LARGE. Raise it for big inputs; every
	// accepted body is held in memory while its handler runs.
	MaxBodySize int `json:"maxBodySize"`

	// MaxHeaderSize bounds the request line plus headers, in bytes. Default 8 KiB.
	// It is also the size of each connection's read buffer, so it sets the memory
	// floor of a busy connection. Larger headers get 431 HEADERS_TOO_LARGE.
	MaxHeaderSize int `json:"maxHeaderSize"`

	// MaxJSONDepth bounds how deeply a request body may nest arrays and objects.
	// Default 512. Deeper bodies get 400 INVALID_JSON before JavaScript sees them.
	MaxJSONDepth int `json:"maxJsonDepth"`

	// ReadTimeoutMs bounds the time to read one request, headers and body, in ms.
	// Default 30000. It protects against clients that send slowly (slowloris).
	ReadTimeoutMs int `json:"readTimeoutMs"`

	// WriteTimeoutMs bounds the time to write one response, in ms. Default 30000.
	WriteTimeoutMs int `json:"writeTimeoutMs"`

	// IdleTimeoutMs is how long a keep-alive connection may wait for its next request,
	// in ms. Default 30000. close() closes idle connections at once, whatever this is.
	IdleTimeoutMs int `json:"idleTimeoutMs"`

	// MaxConnections bounds the connections served at once. Default 262144.
	// Connections beyond it are answered 503 and closed.
	MaxConnections int `json:"maxConnections"`

	// TaskTimeoutMs bounds how long a handler may take to settle, in ms. Default 0: no
	// limit. A call that runs longer is answered 504 TIMEOUT, its ctx.signal fires, and
	// its late result is dropped. Set it when close() must not wait on a hung handler.
	TaskTimeoutMs int `json:"taskTimeoutMs"`

	// MaxInFlight bounds the calls waiting for a JavaScript handler. Default 10000.
	// Beyond it requests are answered 503 SERVICE_UNAVAILABLE at once, so memory stays
	// bounded when handlers fall behind the request rate.
	MaxInFlight int `json:"maxInFlight"`

	// ReduceMemoryUsage releases the read and write buffers of idle keep-alive
	// connections (fasthttp's ReduceMemoryUsage). Default false. It roughly halves the
	// memory of an idle connection at the cost of some CPU per request (see
	// docs/benchmarks.md); turn it on for many mostly idle clients.
	ReduceMemoryUsage bool `json:"reduceMemoryUsage"`

	// AuthToken, when not empty, must be sent in the AuthHeader request header of every
	// task, event and discovery request; otherwise 401 UNAUTHORIZED. CORS preflight is
	// never blocked. Compared in constant time.
	AuthToken string `json:"authToken"`

	// AuthHeader names the header carrying AuthToken. Default "x-runner-token".
	AuthHeader string `json:"authHeader"`
}

// Defaults of the fields whose zero value is not a usable setting.
const (
	DefaultBasePath      = "/__runner"
	DefaultMaxBodySize   = 10 << 20
	DefaultMaxHeaderSize = 8 << 10
	DefaultMaxJSONDepth  = 512
	DefaultTimeoutMs     = 30000
	DefaultMaxConns      = 256 * 1024
	DefaultMaxInFlight   = 10000
	DefaultAuthHeader    = "x-runner-token"
)

// WithDefaults returns c with every unset field given its default and BasePath
// normalised. A nil CorsOrigins becomes ["*"]; an empty, non-nil list stays empty.
func (c Config) WithDefaults() Config {
	if c.BasePath == "" {
		c.BasePath = DefaultBasePath
	}
	c.BasePath = NormaliseBasePath(c.BasePath)
	if c.CorsOrigins == nil {
		c.CorsOrigins = []string{"*"}
	}
	setDefault(&c.MaxBodySize, DefaultMaxBodySize)
	setDefault(&c.MaxHeaderSize, DefaultMaxHeaderSize)
	setDefault(&c.MaxJSONDepth, DefaultMaxJSONDepth)
	setDefault(&c.ReadTimeoutMs, DefaultTimeoutMs)
	setDefault(&c.WriteTimeoutMs, DefaultTimeoutMs)
	setDefault(&c.IdleTimeoutMs, DefaultTimeoutMs)
	setDefault(&c.MaxConnections, DefaultMaxConns)
	setDefault(&c.MaxInFlight, DefaultMaxInFlight)
	if c.AuthHeader == "" {
		c.AuthHeader = DefaultAuthHeader
	}
	return c
}

func setDefault(field *int, def int) {
	if *field == 0 {
		*field = def
	}
}

// NormaliseBasePath gives p exactly one leading slash and no trailing slash; the root
// ("/" or "") becomes "".
func NormaliseBasePath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// Validate reports the first invalid field, naming it.
func (c Config) Validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port must be an integer from 0 to 65535, got %d", c.Port)
	}
	if strings.ContainsAny(c.BasePath, "?#% ") {
		return fmt.Errorf("basePath must not contain '?', '#', '%%' or spaces, got %q", c.BasePath)
	}
	// Integer fields and their smallest value (taskTimeoutMs: 0 means no limit).
	integers := []struct {
		name       string
		value, min int
	}{
		{"maxBodySize", c.MaxBodySize, 1},
		{"maxHeaderSize", c.MaxHeaderSize, 1},
		{"maxJsonDepth", c.MaxJSONDepth, 1},
		{"readTimeoutMs", c.ReadTimeoutMs, 1},
		{"writeTimeoutMs", c.WriteTimeoutMs, 1},
		{"idleTimeoutMs", c.IdleTimeoutMs, 1},
		{"maxConnections", c.MaxConnections, 1},
		{"maxInFlight", c.MaxInFlight, 1},
		{"taskTimeoutMs", c.TaskTimeoutMs, 0},
	}
	for _, f := range integers {
		if f.value < f.min {
			return fmt.Errorf("%s must be an integer of at least %d, got %d", f.name, f.min, f.value)
		}
	}
	for _, o := range c.CorsOrigins {
		if o == "" {
			return fmt.Errorf("corsOrigins must not contain an empty string")
		}
	}
	return nil
}

// Millis converts a millisecond setting to a Duration.
func Millis(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
