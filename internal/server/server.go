// Package server is the HTTP front of runner-native: a fasthttp server that routes the
// requests of one of the two protocols (internal/protocol), answers everything it can
// by itself (routing, validation, auth, CORS, discovery, every error) and hands each
// task or event call, and each question only JavaScript can answer (an auth validator,
// a dynamic CORS origin), to an Invoker.
//
// It knows nothing of JavaScript: the Node addon plugs in internal/bridge as its Invoker,
// the pure-Go server and the tests plug in internal/gohandlers.
package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/cors"
	"github.com/bluelibs/runner-native/internal/httpguard"
	"github.com/bluelibs/runner-native/internal/latency"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/registry"
)

// Invoker runs the handler of a call (or answers a check) and records the answer on the
// call. Invoke is called concurrently from many goroutines and returns once the answer
// is recorded.
type Invoker interface {
	Invoke(c *Call)
}

// Notifier receives notice records (internal/wire) for JavaScript, such as auth
// failures to log. An Invoker may implement it. Notify copies what it keeps of record
// (the caller reuses it) and must stay bounded however many notices come: it may
// coalesce them.
type Notifier interface {
	Notify(record []byte)
}

// Server serves one configuration. Create it with New, start it with Listen, stop it
// with Close.
type Server struct {
	cfg     config.Config
	dialect protocol.Dialect
	reg     *registry.Registry
	inv     Invoker
	cors    *cors.Policy
	origins originCache
	http    *fasthttp.Server
	tokens  [][sha256.Size]byte // of cfg.Auth.Tokens: comparing hashes hides their length

	ln     net.Listener
	port   int
	served chan struct{} // closed when Serve has returned
	conns  connSet

	keepAlive *keepAlive
	recorder  Recorder // inv, when it is one and the configuration asks for records

	closeOnce sync.Once
	closeErr  error
	stats     Stats
}

// New returns a server for cfg (from config.Decode or config.Defaults) that is not yet
// listening. reg and inv must not be nil.
func New(cfg config.Config, reg *registry.Registry, inv Invoker) *Server {
	s := &Server{
		cfg: cfg, dialect: protocol.For(cfg.Protocol == config.Runner), reg: reg, inv: inv,
		cors: cors.New(cfg.CORS), served: make(chan struct{}),
	}
	for _, t := range cfg.Auth.Tokens {
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	handler := s.handleSeed
	if s.dialect.Runner() {
		handler = s.handleRunner
	}
	if rec, ok := inv.(Recorder); ok && cfg.AccessLog {
		s.recorder = rec
	}
	s.keepAlive = newKeepAlive(cfg.IdleTimeoutMs)
	s.http = &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			handler(ctx)
			s.keepAlive.announce(ctx)
		},
		ErrorHandler:                 s.handleError,
		ConnState:                    s.conns.track,
		NoDefaultServerHeader:        true, // do not advertise the implementation
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true, // bodies are JSON; never parse forms
		CloseOnShutdown:              true, // tell keep-alive clients to reconnect elsewhere
		ReadBufferSize:               cfg.MaxHeaderSize,
		ReadTimeout:                  config.Millis(cfg.ReadTimeoutMs),
		WriteTimeout:                 config.Millis(cfg.WriteTimeoutMs),
		IdleTimeout:                  config.Millis(cfg.IdleTimeoutMs),
		Concurrency:                  2 * cfg.MaxConnections, // a backstop: the guard bounds connections
		ReduceMemoryUsage:            cfg.ReduceMemoryUsage,
		// Inside Node, Go must never write to stdout/stderr: a closed pipe would kill
		// the whole process with SIGPIPE, and the output is not ours to use anyway.
		Logger: silentLogger{},
	}
	// The server reads bodies itself (body.go): where each protocol reads them, and
	// application/octet-stream ones as the handler asks for them.
	s.http.StreamRequestBody = true
	// fasthttp reads min(Content-Length, MaxRequestBodySize, 8 KiB) of a streamed body
	// before it calls the handler: 1, the least it takes, so that a request is routed
	// and authorized before its body is read (body.go checks the real limits as it reads).
	s.http.MaxRequestBodySize = 1
	return s
}

type silentLogger struct{}

func (silentLogger) Printf(string, ...any) {}

// Listen binds the configured address and starts serving in the background. It returns
// once the socket accepts connections, or a *ListenError.
func (s *Server) Listen() error {
	if err := s.Bind(); err != nil {
		return err
	}
	s.Serve()
	return nil
}

// Bind binds the configured address without serving yet (see Serve), so that a caller
// can finish its own setup only once the address is known to be its own.
func (s *Server) Bind() error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	var lc net.ListenConfig
	if s.cfg.ReusePort {
		lc.Control = reusePort
	}
	ln, err := lc.Listen(context.Background(), "tcp", addr)
	if err != nil {
		le := newListenError(err)
		if s.cfg.ReusePort {
			noteReusePort(le)
		}
		return le
	}
	s.ln = ln
	s.port = ln.Addr().(*net.TCPAddr).Port
	return nil
}

// Serve starts serving the bound listener in the background.
func (s *Server) Serve() {
	go func() {
		defer close(s.served)
		defer func() { _ = recover() }() // a panic here must never reach Node
		_ = s.http.Serve(httpguard.NewListener(trackingListener{s.ln, &s.conns}, s.guardConfig()))
	}()
}

// Port returns the bound port (useful with Port 0), or 0 before Bind.
func (s *Server) Port() int { return s.port }

// Close stops accepting connections, closes idle ones and waits for every accepted
// request to be answered, for at most timeout. Past it, onDeadline runs (it must make
// every pending call answer at once), the answers already decided are given a moment to
// be written, and every connection still open is closed. It blocks: call it off any
// thread that handlers depend on. Calling it again returns the first result.
func (s *Server) Close(timeout time.Duration, onDeadline func()) error {
	s.closeOnce.Do(func() {
		if s.ln == nil {
			return
		}
		s.keepAlive.closing.Store(true) // answers from now on close their connection
		// Close the listener ourselves first: Serve runs in its own goroutine, and if it
		// has not registered the listener with fasthttp yet, Shutdown would see nothing
		// to stop and Serve would then accept forever.
		_ = s.ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := s.http.ShutdownWithContext(ctx)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			if onDeadline != nil {
				onDeadline()
			}
			s.conns.settle(settleTime)
			s.conns.closeAll(false)
			s.waitClosed()
		} else if err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = err
		}
		<-s.served
	})
	return s.closeErr
}

// settleTime bounds how long Close waits, past its deadline, for the 503 answers it
// just decided to be written before it closes their connections.
const settleTime = time.Second

// waitClosed waits (at most 5 s) until fasthttp is done with every connection.
func (s *Server) waitClosed() {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for limit := 1000; limit > 0 && s.conns.count() > 0; limit-- {
		<-t.C
	}
}

// CloseIdleConnections closes every connection that is not in the middle of a request,
// as Node's server.closeIdleConnections() does.
func (s *Server) CloseIdleConnections() { s.conns.closeAll(true) }

// CloseAllConnections closes every connection at once, requests in progress included,
// as Node's server.closeAllConnections() does. Their handlers still run; their answers
// are dropped.
func (s *Server) CloseAllConnections() { s.conns.closeAll(false) }

// OpenConnections returns the number of connections currently open.
func (s *Server) OpenConnections() int { return s.conns.count() }

// Stats are cheap counters of one server, updated with atomics.
type Stats struct {
	Requests                        atomic.Uint64 // every request seen, including malformed ones
	Status2xx, Status4xx, Status5xx atomic.Uint64 // answers by status (499, a client gone, apart)
	RejectedHTTP                    atomic.Uint64 // requests refused as malformed HTTP
	Panics                          atomic.Uint64 // panics turned into 500s
	InFlight                        atomic.Int64  // calls inside a handler right now
	AuthFailures                    atomic.Uint64 // requests refused by the auth policy (401, AUTH_NOT_CONFIGURED)
	// Latency: how long answers took, from the request's head read to the answer
	// decided (JSON) or its stream over.
	Latency latency.Histogram
}

func (st *Stats) count(status int) {
	switch {
	case status == 499: // the client is gone: counted as a disconnect by the bridge
	case status < 300:
		st.Status2xx.Add(1)
	case status < 500:
		st.Status4xx.Add(1)
	default:
		st.Status5xx.Add(1)
	}
}

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }
