//go:build linux || darwin

package core

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openTerminal opens a pseudo-terminal pair of the given size (openPty: each OS's
// posix_openpt/grantpt/unlockpt/ptsname). The master is non-blocking (read through
// the runtime's poller) and close-on-exec, with two dups of it (input, control); the
// slave is opened without becoming the host's controlling terminal.
func openTerminal(rows, cols int) (*terminal, *os.File, error) {
	mfd, sfd, name, call, err := openPty()
	if err != nil {
		return nil, nil, ptyError(call, err)
	}
	fds := []int{mfd, sfd}
	fail := func(call string, err error) (*terminal, *os.File, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, nil, ptyError(call, err)
	}
	if err := setSize(uintptr(mfd), rows, cols); err != nil {
		return fail("TIOCSWINSZ", err)
	}
	var dups [2]int
	for i := range dups {
		fd, err := unix.FcntlInt(uintptr(mfd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fail("dup", err)
		}
		dups[i] = fd
		fds = append(fds, fd)
	}
	return &terminal{
		master: os.NewFile(uintptr(mfd), "/dev/ptmx"),
		input:  os.NewFile(uintptr(dups[0]), "/dev/ptmx"),
		ctl:    os.NewFile(uintptr(dups[1]), "/dev/ptmx"),
		name:   name,
	}, os.NewFile(uintptr(sfd), name), nil
}

// openMaster opens /dev/ptmx non-blocking and close-on-exec, not as the host's
// controlling terminal; fail closes it and passes a failed step on (openPty's form).
func openMaster() (m int, fail func(call string, err error) (int, int, string, string, error), err error) {
	m, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	fail = func(call string, err error) (int, int, string, string, error) {
		unix.Close(m)
		return -1, -1, "", call, err
	}
	return m, fail, err
}

// ptyError is the typed error of a failed step of opening a terminal.
func ptyError(call string, err error) error {
	errno, _ := err.(syscall.Errno)
	if errno == 0 {
		errno = unix.EIO
	}
	return &Error{Code: errnoName(errno), Errno: errno, Syscall: call, Path: "/dev/ptmx", Err: err,
		Msg: fmt.Sprintf("terminal: %s: %v", call, err)}
}
