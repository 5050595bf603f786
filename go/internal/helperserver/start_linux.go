package helperserver

// What the helper does to itself before it serves: nothing of the host's reaches
// the trees, and nothing of the host is held for the helper's life.

import (
	"os"
	"strconv"
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// closeInherited closes every fd above the socket that came without close-on-exec:
// whatever the host held so when it started the helper is of no use here, and must
// neither reach the trees nor be kept open (a pipe's reader waiting for EOF, a
// deleted file's space) for the helper's whole life. Every fd the Go runtime makes
// is close-on-exec, so only inherited ones are hit.
func closeInherited() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		// No /proc: at least keep them from the trees.
		unix.CloseRange(wire.Fd+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
		return
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
		unix.Dup3(null, fd, 0)
	}
	unix.Close(null)
}

// resetIgnoredSignals sets every signal this process inherited as ignored back to
// its default, so that exec passes no "ignored" disposition on (exec keeps ignores,
// resets handlers). Go's own handlers are left alone: exec resets them anyway.
func resetIgnoredSignals() {
	type sigaction struct{ handler, rest [4]uintptr } // any layout: all zero is SIG_DFL
	for sig := 1; sig < 65; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old sigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
			continue
		}
		if old.handler[0] == 1 { // SIG_IGN
			var dfl sigaction
			unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		}
	}
}
