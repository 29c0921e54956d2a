// Package server is the HTTP front of runner-native: a fasthttp server that routes the
// protocol's requests, answers everything it can by itself (routing, validation, CORS,
// discovery, errors) and hands each task or event call to an Invoker.
//
// It knows nothing of JavaScript: the Node addon plugs in internal/bridge as its Invoker,
// the pure-Go server and the tests plug in internal/gohandlers.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/valyala/fasthttp"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/cors"
	"github.com/bluelibs/runner-native/internal/envelope"
	"github.com/bluelibs/runner-native/internal/httpguard"
	"github.com/bluelibs/runner-native/internal/jsonscan"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/route"
)

// Invoker runs the handler of a call and records its answer on the call (SetResult,
// SetNoResult or SetError). Invoke is called concurrently from many goroutines and
// returns once the answer is recorded.
type Invoker interface {
	Invoke(c *Call)
}

// Server serves one configuration. Create it with New, start it with Listen, stop it
// with Close.
type Server struct {
	cfg  config.Config
	reg  *registry.Registry
	inv  Invoker
	cors cors.Policy
	http *fasthttp.Server

	ln     net.Listener
	port   int
	served chan struct{} // closed when Serve has returned

	closeOnce sync.Once
	closeErr  error
	stats     Stats

	authOn   bool
	authHash [sha256.Size]byte // of cfg.AuthToken: comparing hashes hides the token's length too
}

// ListenError is a failure to bind. Code is the Node-style errno name (EADDRINUSE,
// EACCES, EADDRNOTAVAIL, ...), so JavaScript can reject with err.code as net does.
type ListenError struct {
	Code string
	Err  error
}

func (e *ListenError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *ListenError) Unwrap() error { return e.Err }

// New validates cfg (after applying defaults) and returns a server that is not yet
// listening. reg and inv must not be nil.
func New(cfg config.Config, reg *registry.Registry, inv Invoker) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, reg: reg, inv: inv, cors: cors.New(cfg.CorsOrigins), served: make(chan struct{})}
	if cfg.AuthToken != "" {
		s.authOn, s.authHash = true, sha256.Sum256([]byte(cfg.AuthToken))
	}
	s.http = &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.handleError,
		NoDefaultServerHeader:        true, // do not advertise the implementation
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true, // bodies are JSON; never parse forms
		CloseOnShutdown:              true, // tell keep-alive clients to reconnect elsewhere
		ReadBufferSize:               cfg.MaxHeaderSize,
		MaxRequestBodySize:           cfg.MaxBodySize,
		ReadTimeout:                  config.Millis(cfg.ReadTimeoutMs),
		WriteTimeout:                 config.Millis(cfg.WriteTimeoutMs),
		IdleTimeout:                  config.Millis(cfg.IdleTimeoutMs),
		Concurrency:                  2 * cfg.MaxConnections, // a backstop: the guard bounds connections
		ReduceMemoryUsage:            cfg.ReduceMemoryUsage,
		// Inside Node, Go must never write to stdout/stderr: a closed pipe would kill
		// the whole process with SIGPIPE, and the output is not ours to use anyway.
		Logger: silentLogger{},
	}
	return s, nil
}

type silentLogger struct{}

func (silentLogger) Printf(string, ...any) {}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() config.Config { return s.cfg }

// Listen binds the configured address and starts serving in the background. It returns
// once the socket accepts connections.
func (s *Server) Listen() error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return &ListenError{Code: errnoName(err), Err: err}
	}
	s.ln = ln
	s.port = ln.Addr().(*net.TCPAddr).Port
	go func() {
		defer close(s.served)
		defer func() { _ = recover() }() // a panic here must never reach Node
		_ = s.http.Serve(httpguard.NewListener(lingerListener{ln}, s.guardConfig()))
	}()
	return nil
}

// Port returns the bound port (useful with Port 0), or 0 before Listen.
func (s *Server) Port() int { return s.port }

// Close stops accepting connections, waits for every accepted request to be answered,
// closes idle keep-alive connections and returns. It blocks: call it off any thread that
// handlers depend on. Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.ln == nil {
			return
		}
		// Close the listener ourselves first: Serve runs in its own goroutine, and if it
		// has not registered the listener with fasthttp yet, Shutdown would see nothing
		// to stop and Serve would then accept forever.
		_ = s.ln.Close()
		if err := s.http.ShutdownWithContext(context.Background()); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = err
		}
		<-s.served
	})
	return s.closeErr
}

func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EADDRINUSE:
			return "EADDRINUSE"
		case syscall.EACCES:
			return "EACCES"
		case syscall.EADDRNOTAVAIL:
			return "EADDRNOTAVAIL"
		}
		return fmt.Sprintf("E%d", int(errno))
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "ENOTFOUND"
	}
	return "ELISTEN"
}

var (
	contentTypeJSON = []byte("application/json; charset=utf-8")
	methodPost      = []byte(fasthttp.MethodPost)
	methodGet       = []byte(fasthttp.MethodGet)
	methodOptions   = []byte(fasthttp.MethodOptions)
	allowPost       = "POST, OPTIONS"
	allowGetPost    = "GET, POST, OPTIONS"
	defaultAllowHdr = "Content-Type"
)

// memberName is the body member that carries the handler's argument.
func memberName(k route.Kind) string {
	if k == route.Event {
		return "payload"
	}
	return "input"
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	s.stats.Requests.Add(1)
	c := acquireCall()
	defer releaseCall(c)
	// Registered after releaseCall, so it runs first: a panic anywhere below becomes a
	// 500 for this request and never unwinds into fasthttp or Node.
	defer s.recoverPanic(ctx, c)

	s.setCORS(ctx)
	kind, id, err := route.Parse(c.idBuf, ctx.URI().PathOriginal(), s.cfg.BasePath)
	if id != nil {
		c.idBuf = id[:0] // keep a grown array for the next call
	}
	method := ctx.Method()
	if err != nil {
		if errors.Is(err, route.ErrNotFound) {
			s.fail(ctx, c, envelope.NotFound, "Route not found")
		} else {
			s.fail(ctx, c, envelope.BadRequest, "Invalid id: "+err.Error())
		}
		return
	}
	if string(method) == string(methodOptions) {
		s.preflight(ctx, kind)
		return
	}

	if s.authOn && !s.authorized(ctx) {
		s.fail(ctx, c, envelope.Unauthorized, "Missing or invalid "+s.cfg.AuthHeader+" header")
		return
	}

	if kind == route.Discovery {
		if string(method) != string(methodGet) && string(method) != string(methodPost) {
			ctx.Response.Header.Set(fasthttp.HeaderAllow, allowGetPost)
			s.fail(ctx, c, envelope.MethodNotAllowed, "Method not allowed: use GET or POST")
			return
		}
		s.reply(ctx, fasthttp.StatusOK, s.reg.Discovery())
		return
	}

	if string(method) != string(methodPost) {
		ctx.Response.Header.Set(fasthttp.HeaderAllow, allowPost)
		s.fail(ctx, c, envelope.MethodNotAllowed, "Method not allowed: use POST")
		return
	}
	slot, ok := s.reg.Lookup(kind, id)
	if !ok {
		title := "Task"
		if kind == route.Event {
			title = "Event"
		}
		c.errMsg = append(append(append(c.errMsg[:0], title...), " not found: "...), id...)
		c.out = envelope.AppendError(c.out[:0], envelope.NotFound, c.errMsg)
		s.reply(ctx, envelope.NotFound.Status, c.out)
		return
	}
	if body := ctx.PostBody(); len(body) > 0 {
		value, _, err := jsonscan.Member(body, memberName(kind), s.cfg.MaxJSONDepth)
		if err != nil {
			s.fail(ctx, c, envelope.InvalidJSON, "Invalid JSON body: "+err.Error())
			return
		}
		c.Input = value
	}
	c.Kind, c.Slot, c.ID = kind, slot, id
	c.Header, c.Conn = &ctx.Request.Header, ctx.Conn()

	s.invoke(c)

	switch {
	case !c.errCode.IsZero():
		c.out = envelope.AppendError(c.out[:0], c.errCode, c.errMsg)
		s.reply(ctx, c.errCode.Status, c.out)
	case kind == route.Task && c.hasResult:
		c.out = envelope.AppendResult(c.out[:0], c.result)
		s.reply(ctx, fasthttp.StatusOK, c.out)
	default:
		c.out = envelope.AppendOK(c.out[:0])
		s.reply(ctx, fasthttp.StatusOK, c.out)
	}
}

// invoke runs the handler, keeping the in-flight gauge right even if Invoke panics.
func (s *Server) invoke(c *Call) {
	s.stats.InFlight.Add(1)
	defer s.stats.InFlight.Add(-1)
	s.inv.Invoke(c)
}

// authorized compares the request's token with the configured one in constant time.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	sum := sha256.Sum256(ctx.Request.Header.Peek(s.cfg.AuthHeader))
	return subtle.ConstantTimeCompare(sum[:], s.authHash[:]) == 1
}

func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx, c *Call) {
	if r := recover(); r != nil {
		s.stats.Panics.Add(1)
		ctx.Response.Reset()
		s.setCORS(ctx)
		s.fail(ctx, c, envelope.Internal, "Internal server error")
	}
}

func (s *Server) reply(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBody(body) // copies: body may be pooled scratch
	s.stats.count(status)
}

func (s *Server) fail(ctx *fasthttp.RequestCtx, c *Call, code envelope.Code, message string) {
	c.out = envelope.AppendError(c.out[:0], code, message)
	s.reply(ctx, code.Status, c.out)
}

// setCORS adds Access-Control-Allow-Origin (and Vary: Origin for an explicit list).
func (s *Server) setCORS(ctx *fasthttp.RequestCtx) {
	if !s.cors.Any() {
		ctx.Response.Header.Set(fasthttp.HeaderVary, fasthttp.HeaderOrigin)
	}
	if v := s.cors.AllowOrigin(ctx.Request.Header.Peek(fasthttp.HeaderOrigin)); v != nil {
		ctx.Response.Header.SetBytesV(fasthttp.HeaderAccessControlAllowOrigin, v)
	}
}

// preflight answers a CORS preflight: 204 with the methods of the route and whatever
// request headers the browser asked to send.
func (s *Server) preflight(ctx *fasthttp.RequestCtx, kind route.Kind) {
	h := &ctx.Response.Header
	if kind == route.Discovery {
		h.Set(fasthttp.HeaderAccessControlAllowMethods, allowGetPost)
	} else {
		h.Set(fasthttp.HeaderAccessControlAllowMethods, allowPost)
	}
	if req := ctx.Request.Header.Peek(fasthttp.HeaderAccessControlRequestHeaders); len(req) > 0 {
		h.SetBytesV(fasthttp.HeaderAccessControlAllowHeaders, req)
	} else {
		h.Set(fasthttp.HeaderAccessControlAllowHeaders, defaultAllowHdr)
	}
	h.Set(fasthttp.HeaderAccessControlMaxAge, "86400")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	s.stats.count(fasthttp.StatusNoContent)
}

// handleError answers what fasthttp could not parse or read. The connection is closed
// after this response.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	s.stats.Requests.Add(1)
	c := acquireCall()
	defer releaseCall(c)
	s.setCORS(ctx)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	rej, guarded := httpguard.RejectionOf(ctx.Conn())
	switch {
	case guarded: // the guard refused a request whose head fasthttp had already read
		s.fail(ctx, c, guardCode(rej), s.guardMessage(rej))
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.fail(ctx, c, envelope.PayloadTooLarge, "Request body exceeds maxBodySize ("+strconv.Itoa(s.cfg.MaxBodySize)+" bytes)")
	case errors.As(err, &small):
		s.fail(ctx, c, envelope.HeadersTooLarge, s.msgHeadersTooLarge())
	case errors.As(err, &netErr) && netErr.Timeout():
		s.fail(ctx, c, envelope.RequestTimeout, msgReadTimeout)
	default:
		s.fail(ctx, c, envelope.BadRequest, "Malformed HTTP request")
	}
	ctx.SetConnectionClose()
}

// Stats are cheap counters of one server, updated with atomics.
type Stats struct {
	Requests                        atomic.Uint64 // every request seen, including malformed ones
	Status2xx, Status4xx, Status5xx atomic.Uint64
	Panics                          atomic.Uint64 // panics turned into 500s
	InFlight                        atomic.Int64  // calls inside a handler right now
}

func (st *Stats) count(status int) {
	switch {
	case status < 300:
		st.Status2xx.Add(1)
	case status < 500:
		st.Status4xx.Add(1)
	default:
		st.Status5xx.Add(1)
	}
}

// OpenConnections returns the number of connections currently open.
func (s *Server) OpenConnections() int { return int(s.http.GetOpenConnectionsCount()) }

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return &s.stats }
