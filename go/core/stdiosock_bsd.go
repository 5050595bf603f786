//go:build unix && !linux

package core

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socketpairCloexec: no SOCK_CLOEXEC on darwin; the fork lock keeps the window between
// socketpair and FD_CLOEXEC closed against a concurrent exec (as os/exec does for pipes).
func socketpairCloexec() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	return fds, nil
}
