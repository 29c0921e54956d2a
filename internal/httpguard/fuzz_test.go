package httpguard

import (
	"bufio"
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"
)

// boundaries returns the offsets at which requests end in out, which must be a stream
// the guard hands on unchanged, and whether out ends at one.
func boundaries(t *testing.T, out []byte) []int {
	s := scanner{max: 1 << 20}
	b := append([]byte(nil), out...)
	var ends []int
	r, w := 0, 0
	for end := 1; end <= len(b); end++ {
		s.done = -1
		r, w = s.process(b, r, w, end)
		require.Nil(t, s.rej, "handed-on bytes are refused when checked again: %q", out)
		if s.done >= 0 {
			ends = append(ends, s.done)
		}
	}
	require.Equal(t, out, b[:w], "handed-on bytes are rewritten when checked again")
	return ends
}

func FuzzGuard(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed), uint8(3), uint16(4096))
	}
	f.Fuzz(func(t *testing.T, in []byte, piece uint8, readSize uint16) {
		cfg := Config{MaxHeadSize: 512}
		whole := guardRun(cfg, in, 0, 4096, false)
		cut := guardRun(cfg, in, int(piece%64)+1, int(readSize%4096)+1, false)

		// Where the input is cut and how much is read at once change nothing but how much
		// of an unfinished request was handed on (its head goes on once complete).
		short, long := whole.out, cut.out
		if len(short) > len(long) {
			short, long = long, short
		}
		require.True(t, bytes.HasPrefix(long, short), "output depends on how the input arrives")
		ends := boundaries(t, whole.out)
		require.Equal(t, ends, boundaries(t, cut.out), "requests depend on how the input arrives")
		require.Equal(t, whole.rej != nil, cut.rej != nil)

		// Never the bytes of a refused request: everything handed on is whole requests,
		// unless the input simply ended inside one.
		last := 0
		if len(ends) > 0 {
			last = ends[len(ends)-1]
		}
		if whole.rej != nil && !whole.mid {
			require.Equal(t, len(whole.out), last, "bytes of a refused request were handed on")
		}

		// One Read: whole requests, or part of a single one. (A Read shorter than the whole
		// requests at hand may end inside one of them: the rest follows without waiting.)
		at := 0
		cutEnds := boundaries(t, cut.out)
		for _, rd := range cut.reads {
			from, to := at, at+len(rd)
			at = to
			for _, e := range cutEnds {
				if e > from && e < to && !slices.Contains(cutEnds, to) {
					require.Greater(t, cutEnds[len(cutEnds)-1], to,
						"a Read hands on a request and part of an unfinished one")
				}
			}
		}

		// fasthttp reads every whole request that was handed on.
		br := bufio.NewReaderSize(bytes.NewReader(whole.out[:last]), 1<<16)
		for range ends {
			var req fasthttp.Request
			err := req.Header.Read(br)
			require.NoError(t, err, "fasthttp refuses %q", whole.out)
			require.NoError(t, req.ContinueReadBody(br, 0, false), "fasthttp refuses the body of %q", whole.out)
		}
	})
}

var fuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET  /t  HTTP/1.1\r\nHost: x\r\n\r\n",
	"\r\n\r\nPOST /t HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET /y HT",
	"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,ChunKed\r\nExpect: 100-continue, foo\r\n\r\n002;a=b;c=\"x\"\r\n{}\r\n0;z\r\nX-T: 1\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /t HTTP/1.1\r\nDummy: x\nContent-Length: 23\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	"GET /t HTTP/2.0\r\nHost: x\r\n\r\n",
	"GET /t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
	"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX",
	"POST /t HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}GET http://a@b/?q HTTP/1.0\r\nHost: [::1]:80\r\n\r\n",
}
