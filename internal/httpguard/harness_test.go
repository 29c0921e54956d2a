package httpguard

import (
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// chunkConn is a net.Conn whose reads return the given chunks one by one, then end
// (io.EOF, or a timeout when timeout is set). Writes are kept.
type chunkConn struct {
	net.Conn // nil: only the methods below are used
	chunks   [][]byte
	timeout  bool
	written  []byte
	closed   bool
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		if c.timeout {
			return 0, errDeadline
		}
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

func (c *chunkConn) Write(p []byte) (int, error) {
	c.written = append(c.written, p...)
	return len(p), nil
}
func (c *chunkConn) Close() error                     { c.closed = true; return nil }
func (c *chunkConn) SetWriteDeadline(time.Time) error { return nil }

// split cuts in into pieces of at most size bytes (all of it when size <= 0).
func split(in []byte, size int) [][]byte {
	if size <= 0 || size >= len(in) {
		return [][]byte{append([]byte(nil), in...)}
	}
	var out [][]byte
	for len(in) > 0 {
		n := min(size, len(in))
		out = append(out, append([]byte(nil), in[:n]...))
		in = in[n:]
	}
	return out
}

// guardRun feeds in through a guarded Conn, reading with buffers of readSize bytes,
// and returns what was handed on, the end error and the refusal (nil if none).
type guardResult struct {
	out     []byte
	reads   [][]byte // each Read's bytes
	err     error
	rej     *Rejection
	mid     bool
	written []byte // what Close wrote
}

func guardRun(cfg Config, in []byte, pieceSize, readSize int, timeout bool) guardResult {
	l := NewListener(nil, cfg)
	cc := &chunkConn{chunks: split(in, pieceSize), timeout: timeout}
	c := &Conn{Conn: cc, l: l, s: scanner{max: l.cfg.MaxHeadSize}}
	l.open.Add(1)
	var res guardResult
	p := make([]byte, readSize)
	for i := 0; i < 100000; i++ {
		n, err := c.Read(p)
		if n > 0 {
			res.out = append(res.out, p[:n]...)
			res.reads = append(res.reads, append([]byte(nil), p[:n]...))
		}
		if err != nil {
			res.err = err
			break
		}
		if n == 0 {
			res.err = errors.New("Read returned 0, nil")
			break
		}
	}
	res.rej, res.mid = c.pending, c.pendingMid
	_ = c.Close()
	res.written = cc.written
	return res
}

var errDeadline = os.ErrDeadlineExceeded
