package host

import (
	"fmt"
	"net"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/bluelibs/runner-native/internal/bridge"
	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/protocol"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/server"
	"github.com/bluelibs/runner-native/internal/wire"
)

// group is one listener and the servers (one per JavaScript thread, each a bridge port)
// that share it. A server without reusePort is a group of one; with reusePort, the
// servers of one process that listen on the same host and port join one group.
type group struct {
	key  string // "host:port" for reusePort groups, "" otherwise
	cfg  config.Config
	srv  *server.Server
	reg  *registry.Registry
	pool *bridge.Pool

	mu      sync.Mutex // guards members
	members int        // servers attached and not closing
}

var (
	groupsMu sync.Mutex
	groups   = map[string]*group{} // reusePort groups by key
)

func groupKey(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// joinOrBind attaches in to the reusePort group of its address in this process, or
// binds a new listener for it. It returns the group and in's port index there.
func joinOrBind(in *instance) (*group, error) {
	cfg := in.cfg
	if cfg.ReusePort && cfg.Port != 0 {
		groupsMu.Lock()
		defer groupsMu.Unlock()
		if g := groups[groupKey(cfg.Host, cfg.Port)]; g != nil {
			if field := differingField(g.cfg, cfg); field != "" {
				return nil, &server.ListenError{
					Code: "ERR_REUSEPORT_CONFIG", Syscall: "listen",
					Message: fmt.Sprintf("reusePort: a server of this process already listens on %s with a different %s; give every thread the same configuration", groupKey(cfg.Host, cfg.Port), field),
				}
			}
			g.attach(in)
			return g, nil
		}
	}
	g := &group{cfg: cfg, reg: new(registry.Registry), pool: bridge.NewPool()}
	g.srv = server.New(cfg, g.reg, g.pool)
	if err := g.srv.Bind(); err != nil {
		return nil, err
	}
	g.cfg.Port = g.srv.Port() // joiners name the bound port
	if cfg.ReusePort {
		g.key = groupKey(cfg.Host, g.srv.Port())
		if cfg.Port == 0 {
			groupsMu.Lock()
			defer groupsMu.Unlock()
		}
		groups[g.key] = g
	}
	g.attach(in)
	g.srv.Serve()
	return g, nil
}

// attach adds in's bridge port to the group and applies its registrations.
func (g *group) attach(in *instance) {
	g.mu.Lock()
	g.members++
	g.mu.Unlock()
	in.port, in.portIndex = g.pool.Add(func() { in.sig.signal(wire.SignalWake) }, bridge.Options{
		Timeout:       config.Millis(in.cfg.TaskTimeoutMs),
		MaxPending:    in.cfg.MaxInFlight,
		WatchInterval: bridge.DefaultWatchInterval,
	})
	in.grp = g
	g.reg.Apply(in.portIndex, in.early)
	in.early = nil
}

// leave detaches in from the group and finishes (see detach and finish).
func (g *group) leave(in *instance, timeout time.Duration, gone bool) {
	g.finish(in, g.detach(in), timeout, gone)
}

// detach takes in out of the group at once, and reports whether it was the last
// member. A member that is not the last stops taking calls now and hands the ones its
// thread has not taken to the others: close() calls this on the JavaScript thread, so
// that calls arriving while that thread finishes what it runs go to the other threads.
func (g *group) detach(in *instance) (last bool) {
	g.mu.Lock()
	g.members--
	last = g.members == 0
	g.mu.Unlock()
	if last && g.key != "" {
		groupsMu.Lock()
		if groups[g.key] == g {
			delete(groups, g.key)
		}
		groupsMu.Unlock()
	}
	if !last {
		in.port.Leave()
	}
	return last
}

// finish completes a detach. The last member closes the listener (waiting for accepted
// requests, at most timeout); any other one waits (at most timeout) for its thread to
// answer the calls it took. gone says the thread can answer nothing (its environment is
// going away).
func (g *group) finish(in *instance, last bool, timeout time.Duration, gone bool) {
	if last {
		if gone {
			in.port.Shutdown(protocol.ShuttingDown)
		}
		_ = g.srv.Close(timeout, g.pool.Deadline)
		in.port.Close()
		return
	}
	g.reg.RemovePort(in.portIndex)
	if gone {
		in.port.Shutdown(protocol.ShuttingDown)
	} else {
		waitIdle(in.port, timeout)
		in.port.Deadline()
	}
	g.pool.Remove(in.portIndex)
	in.port.Close()
}

// waitIdle waits until the port has no call pending, at most timeout.
func waitIdle(p *bridge.Port, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for p.Pending() > 0 && time.Now().Before(deadline) {
		<-t.C
	}
}

// differingField names the first field (by its TunnelConfig name) in which two
// configurations differ, or "" when they agree.
func differingField(a, b config.Config) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := 0; i < va.NumField(); i++ {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return "config." + lowerFirst(va.Type().Field(i).Name)
		}
	}
	return ""
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	if s == "CORS" {
		return "cors"
	}
	return string(s[0]|0x20) + s[1:]
}
