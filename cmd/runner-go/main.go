// Command runner-go serves the runner-native protocol with handlers written in Go (see
// internal/gohandlers). It is what the addon would be if JavaScript cost nothing: the
// ceiling that bench/ measures the addon against.
//
//	runner-go -port 7070 [-host 127.0.0.1] [-base /__runner]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/bluelibs/runner-native/internal/config"
	"github.com/bluelibs/runner-native/internal/gohandlers"
	"github.com/bluelibs/runner-native/internal/registry"
	"github.com/bluelibs/runner-native/internal/server"
)

func main() {
	cfg := config.Defaults(config.Seed)
	flag.IntVar(&cfg.Port, "port", 7070, "port to listen on (0 picks one)")
	flag.StringVar(&cfg.Host, "host", "127.0.0.1", "address to bind")
	base := flag.String("base", config.DefaultBasePath, "base path of the routes")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file until SIGINT/SIGTERM")
	flag.Parse()
	cfg.BasePath = config.NormaliseBasePath(*base)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "runner-go:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}

	reg := new(registry.Registry)
	set := gohandlers.New(reg)
	gohandlers.RegisterExamples(set)
	srv := server.New(cfg, reg, set)
	if err := srv.Listen(); err != nil {
		fmt.Fprintln(os.Stderr, "runner-go:", err)
		os.Exit(1)
	}
	fmt.Printf("runner-go listening on %s:%d\n", cfg.Host, srv.Port())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	_ = srv.Close(config.Millis(cfg.CloseTimeoutMs), nil)
}
