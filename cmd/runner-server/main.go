// Command runner-server is the Go server of @bluelibs/runner-native as a static program
// (built with CGO_ENABLED=0 into runner-native-server), for systems where Node cannot
// load a Go library: on musl (Alpine), Go's c-shared libraries fail to load. The addon
// starts it with two Unix sockets as file descriptors 3 and 4 and makes the thirteen
// calls of abi.h over them (internal/wire's Process constants are the protocol); the
// servers themselves are internal/host's, the same code the library runs.
//
// This package is only the loop, the codec and the descriptors. It never prints to
// stdout; it writes to stderr only when the protocol is broken (a bug in the addon),
// then exits 2.
package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/bluelibs/runner-native/internal/wire"
)

const usage = "runner-native-server: the HTTP server of @bluelibs/runner-native, started by it (not by hand) with its sockets as file descriptors 3 and 4"

func main() {
	// The child shares the terminal's process group with Node: a Ctrl-C must stop Node,
	// which then closes its servers gracefully through the protocol; this process ends
	// when Node closes (or leaves behind) descriptor 3. SIGPIPE: a write to a gone
	// parent fails with EPIPE instead, and is handled.
	signal.Ignore(syscall.SIGPIPE, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	log.SetOutput(io.Discard) // nothing of ours may print into Node's terminal
	if !isSocket(wire.ProcessCallFD) || !isSocket(wire.ProcessSignalFD) {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	calls := os.NewFile(wire.ProcessCallFD, "runner-native calls")
	signals := os.NewFile(wire.ProcessSignalFD, "runner-native signals")
	// A failed signal write means the parent is gone: exit at once, as on EOF.
	if err := serve(calls, signals, func() { os.Exit(0) }); err != nil {
		fmt.Fprintf(os.Stderr, "runner-native-server: %v\n", err)
		os.Exit(2)
	}
	os.Exit(0) // at once: listening servers are not closed gracefully, their Node is gone
}
