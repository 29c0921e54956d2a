//go:build unix

// Package handoff measures what one thread wake-up costs on this machine, the unit every
// request of runner-native pays at least twice (a Go thread hands the call to the
// JavaScript thread, which hands the answer back) and that the pure-Go server does not
// pay at all: docs/performance.md uses it to bound what the bridge can reach at one
// connection.
//
//	go test -run '^$' -bench . -count 5 ./bench/handoff
package handoff

import (
	"runtime"
	"syscall"
	"testing"
)

// BenchmarkThreadRoundTrip: two OS threads ping-pong one byte through two pipes with
// blocking reads. Each hop wakes a sleeping thread: an op is two wake-ups.
func BenchmarkThreadRoundTrip(b *testing.B) {
	var ab, ba [2]int
	if err := syscall.Pipe(ab[:]); err != nil {
		b.Fatal(err)
	}
	if err := syscall.Pipe(ba[:]); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		buf := make([]byte, 1)
		for {
			if n, _ := syscall.Read(ab[0], buf); n != 1 {
				close(done)
				return
			}
			if _, err := syscall.Write(ba[1], buf); err != nil {
				close(done)
				return
			}
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := []byte{1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := syscall.Write(ab[1], buf); err != nil {
			b.Fatal(err)
		}
		if _, err := syscall.Read(ba[0], buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	syscall.Close(ab[1])
	<-done
	for _, fd := range []int{ab[0], ba[0], ba[1]} {
		syscall.Close(fd)
	}
}

// BenchmarkGoroutineRoundTrip: the same between two goroutines over channels, which Go
// usually serves without waking a thread: what a hand-off costs when nobody sleeps.
func BenchmarkGoroutineRoundTrip(b *testing.B) {
	ab, ba := make(chan byte), make(chan byte)
	go func() {
		for v := range ab {
			ba <- v
		}
	}()
	for i := 0; i < b.N; i++ {
		ab <- 1
		<-ba
	}
	close(ab)
}
