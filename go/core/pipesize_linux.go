package core

import (
	"os"

	"golang.org/x/sys/unix"
)

// pipeDefault is a pipe's capacity as created (16 pages).
const pipeDefault = 64 << 10

// pipeGrown is what growPipe asks for: the unprivileged maximum by default
// (/proc/sys/fs/pipe-max-size).
const pipeGrown = 1 << 20

// pipeMax bounds what one of our pipes can hold: growPipe's size.
const pipeMax = pipeGrown

// growPipe enlarges the pipe behind f (our read end) so that a fast writer is woken,
// and wakes us, less often: throughput depends on it several-fold. Best effort: over
// the user's pipe memory limit the kernel refuses, and the pipe stays as it was; a
// terminal or a socket is no pipe. It reports whether f now holds pipeGrown bytes.
func growPipe(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	rc.Control(func(fd uintptr) {
		size, err := unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeGrown)
		ok = err == nil && size >= pipeGrown
	})
	return ok
}
