package pidfd

import (
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// cloneRefused is set once a clone asking for a pidfd (CLONE_PIDFD) was refused
// with EINVAL. Kernels before 5.2 ignore the flag and hand back no pidfd, but a
// kernel or emulator that checks clone's flags refuses the whole clone (qemu-user
// 7.2 does, so nothing could be spawned under it); from then on the flag is not
// asked for.
var cloneRefused atomic.Bool

// ForkExec is syscall.ForkExec, taking the pidfd that attr.Sys.PidFD asks for
// from clone where clone gives one, else from pidfd_open right after the fork (safe:
// the new process is the caller's unreaped child, so its pid cannot be reused
// yet). *attr.Sys.PidFD is -1 where the kernel has no pidfd at all.
func ForkExec(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	if attr.Sys == nil || attr.Sys.PidFD == nil {
		return syscall.ForkExec(path, argv, attr)
	}
	out := attr.Sys.PidFD
	*out = -1
	var pid int
	var err error
	if !cloneRefused.Load() {
		pid, err = syscall.ForkExec(path, argv, attr)
		if err != syscall.EINVAL {
			return pid, opened(pid, err, out)
		}
	}
	// Without CLONE_PIDFD (a copy: the caller's attr is left as it was given).
	sys := *attr.Sys
	sys.PidFD = nil
	plain := *attr
	plain.Sys = &sys
	pid, err = syscall.ForkExec(path, argv, &plain)
	if err == nil {
		// The refusal was the flag's: the same fork without it went through (an
		// EINVAL of the child's own, a bad controlling terminal say, comes again).
		cloneRefused.Store(true)
	}
	return pid, opened(pid, err, out)
}

// opened fills *out by pidfd_open when the fork went through without a pidfd.
func opened(pid int, err error, out *int) error {
	if err == nil && *out < 0 {
		if fd, e := unix.PidfdOpen(pid, 0); e == nil { // close-on-exec, always
			*out = fd
		}
	}
	return err
}
