//go:build linux || darwin

package helperserver

import (
	"fmt"
	"os"
	"strconv"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// closeInheritedIn closes every fd listed in dir (the process's own fd directory)
// above the socket that came without close-on-exec: whatever the host held so when
// it started the helper is of no use here, and must neither reach the trees nor be
// kept open (a pipe's reader waiting for EOF, a deleted file's space) for the
// helper's whole life. Every fd the Go runtime makes is close-on-exec, so only
// inherited ones are hit. False if dir cannot be read.
func closeInheritedIn(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= wire.Fd {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
	}
	return true
}

// quietStdio points fds 0–2 at /dev/null: the helper has nothing to read, and the
// host's stdout and stderr (a terminal, a pipe a parent of the host waits on) must
// not be held for the helper's life (wire.DebugVar keeps stderr).
func quietStdio() {
	null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	for fd := 0; fd <= 2; fd++ {
		dupOnto(null, fd)
	}
	unix.Close(null)
}

// takeFds makes the helper's fds its own before it serves: the host's socket (wire.Fd)
// close-on-exec, nothing else inherited kept (closeInherited), fds 0–2 on /dev/null
// unless wire.DebugVar keeps stderr. False, said on stderr, when fd 3 is no socket of
// a host (the helper was started by hand).
func takeFds() bool {
	if _, err := unix.FcntlInt(wire.Fd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: fd 3 is not the host's socket (%v); it is started by the library, not by hand\n", err)
		return false
	}
	closeInherited()
	if os.Getenv(wire.DebugVar) == "" {
		quietStdio()
	}
	return true
}
