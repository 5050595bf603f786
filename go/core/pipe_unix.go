//go:build unix

package core

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readChunk waits until f is readable and only then takes a pooled chunk to read
// into: a reader blocked on a quiet pipe holds no chunk (a thousand idle children's
// two streams held 500 MiB of them, paged in once the pool recycled GC'd memory).
// The wait honours f's read deadline (os.ErrDeadlineExceeded). The chunk is nil
// only with such an error; n is 0 at EOF (io.EOF) or on a read error.
func readChunk(f *os.File) (*[]byte, int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		chunk := chunkPool.Get().(*[]byte)
		n, err := f.Read(*chunk)
		return chunk, n, err
	}
	var chunk *[]byte
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		c := chunkPool.Get().(*[]byte)
		for {
			m, e := unix.Read(int(fd), *c)
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				chunkPool.Put(c)
				return false // not readable yet: wait (no chunk held meanwhile)
			case e != nil:
				rerr = e
				m = 0
			}
			chunk, n = c, m
			return true
		}
	})
	switch {
	case err != nil:
		return nil, 0, err
	case rerr != nil:
		return chunk, 0, &os.PathError{Op: "read", Path: f.Name(), Err: rerr}
	case n == 0:
		return chunk, 0, io.EOF
	}
	return chunk, n, nil
}
