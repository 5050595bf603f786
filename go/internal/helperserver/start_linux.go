package helperserver

// What the helper does to itself before it serves: nothing of the host's reaches
// the trees, and nothing of the host is held for the helper's life.

import (
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// closeInherited closes every fd above the socket that came without close-on-exec
// (closeInheritedIn); with no /proc, it at least keeps them from the trees.
func closeInherited() {
	if !closeInheritedIn("/proc/self/fd") {
		unix.CloseRange(wire.Fd+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	}
}

func dupOnto(fd, onto int) { unix.Dup3(fd, onto, 0) }

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
