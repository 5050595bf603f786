package pidfd

import (
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Status is how the leader ended: Code when it exited, Signal when killed.
type Status struct {
	Code, Signal int
}

// siginfo's SIGCHLD fields, at their offsets in the 64-bit kernel layout.
type sigchld struct {
	signo, errno, code, _ int32
	pid, uid, status      int32
}

const cldExited = 1

func status(info *unix.Siginfo) Status {
	si := (*sigchld)(unsafe.Pointer(info))
	if si.code == cldExited {
		return Status{Code: int(si.status)}
	}
	return Status{Signal: int(si.status)}
}

// Open makes fd (a pidfd) pollable: non-blocking, so that os.NewFile hands it to
// the netpoller.
func Open(fd int) *os.File {
	unix.SetNonblock(fd, true)
	return os.NewFile(uintptr(fd), "pidfd")
}

// Wait blocks until the child pid exits but does not reap it (WNOWAIT). f is its
// pidfd from Open, or nil.
func Wait(f *os.File, pid int) (Status, error) {
	var info unix.Siginfo
	if f != nil {
		if rc, err := f.SyscallConn(); err == nil {
			var werr error
			waited := false
			rerr := rc.Read(func(fd uintptr) bool {
				for {
					info = unix.Siginfo{}
					werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
					if werr == unix.EINTR {
						continue
					}
					if werr == unix.EAGAIN {
						return false // not yet: wait for the pidfd to become readable
					}
					waited = werr != nil || (*sigchld)(unsafe.Pointer(&info)).pid != 0
					return waited
				}
			})
			if rerr == nil && waited {
				if werr != nil {
					return Status{Code: -1}, werr
				}
				return status(&info), nil
			}
			// The pidfd could not be polled: fall back to polling below.
		}
	}
	if err := WaitPoll(pid, &info); err != nil {
		return Status{Code: -1}, err
	}
	return status(&info), nil
}

// WaitPoll waits for pid to exit without reaping it (WNOWAIT), by polling: a
// blocking waitid would hold an OS thread per waiting child. Only for kernels
// without pollable pidfds (before 5.3), where the netpoller cannot do it.
func WaitPoll(pid int, info *unix.Siginfo) error {
	pause := time.Millisecond
	for {
		*info = unix.Siginfo{}
		err := unix.Waitid(unix.P_PID, pid, info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (*sigchld)(unsafe.Pointer(info)).pid != 0 {
			return err
		}
		time.Sleep(pause)
		if pause < 50*time.Millisecond {
			pause *= 2
		}
	}
}

// Reap reaps the child pid (waiting for its end if it has not ended).
func Reap(pid int) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err != unix.EINTR {
			return
		}
	}
}
