package core

import (
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// newPipe makes one stdio pipe, both ends close-on-exec. Only the parent's end
// (parentReads: the read end) is non-blocking and on Go's poller, so that read
// deadlines work. The leader's end stays a plain blocking fd that the spawn dups
// and the parent then closes: os.Pipe would make it non-blocking and register it
// with the poller, and the spawn's Fd would make it blocking again (five syscalls
// and a wakeup of the poller's thread per pipe, on every spawn, for an fd the
// parent never reads or writes).
func newPipe(parentReads bool) (r, w *os.File, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	ours := p[1]
	if parentReads {
		ours = p[0]
	}
	if err := unix.SetNonblock(ours, true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	return os.NewFile(uintptr(p[0]), "|0"), os.NewFile(uintptr(p[1]), "|1"), nil
}

// sharedNull is one open null device (read and write) that every leader whose
// stdio is "ignore" gets a duplicate of at its spawn, instead of an open, the
// poller's fcntl and epoll round (refused: the null device cannot be polled) and a
// close per spawn. Opened with the first hub (prepareSharedNull), so that its fd
// is the library's from then on; nil if it could not be opened (each spawn opens
// its own then).
var sharedNull struct {
	once sync.Once
	f    *os.File
}

func prepareSharedNull() {
	sharedNull.once.Do(func() {
		fd, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err == nil {
			sharedNull.f = os.NewFile(uintptr(fd), os.DevNull)
		}
	})
}

// nullForLeader is the shared null device, or nil.
func nullForLeader() *os.File {
	prepareSharedNull()
	return sharedNull.f
}
