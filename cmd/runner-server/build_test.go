//go:build unix

package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bluelibs/runner-native/internal/wire"
)

// buildServer builds this command as the package ships it: CGO_ENABLED=0, a static
// program that runs on musl as on glibc.
func buildServer(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "runner-native-server")
	cmd := exec.Command(gobin, "build", "-trimpath", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		require.NoError(t, err)
		defer f.Close()
		for _, p := range f.Progs {
			assert.NotEqual(t, elf.PT_INTERP, p.Type, "static: no dynamic loader, so no libc to match")
		}
	}
	return bin
}

func TestStartedByHandItSaysWhatItIs(t *testing.T) {
	bin := buildServer(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
	assert.Equal(t, usage+"\n", stderr.String())
	assert.Empty(t, stdout.String())
}

// The program as the addon runs it: its sockets as fds 3 and 4, Ctrl-C ignored (it is
// Node's to handle), and gone, status 0, once the parent closes the call socket.
func TestTheProgramServesFd3AndEndsWithIt(t *testing.T) {
	bin := buildServer(t)
	childCalls, calls := socketpair(t)
	childSignals, signals := socketpair(t)
	defer signals.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = []*os.File{childCalls, childSignals} // fds 3 and 4
	require.NoError(t, cmd.Start())
	require.NoError(t, childCalls.Close())
	require.NoError(t, childSignals.Close())
	p := &parent{t: t, calls: calls, signals: signals}

	want := wire.Constants()
	n, out := p.call(wire.OpConstants, 0, 0, 1<<20, nil)
	assert.Equal(t, int64(len(want)), n)
	assert.Equal(t, want, out)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	h, base := p.listening() // still serving after the Ctrl-C
	assert.NotZero(t, h)
	assert.NotEmpty(t, base)

	require.NoError(t, calls.Close())
	assert.NoError(t, cmd.Wait(), "ends with status 0 while its server listens; stderr: %s", stderr.String())
	assert.Empty(t, stdout.String())
	assert.Empty(t, stderr.String())
}
