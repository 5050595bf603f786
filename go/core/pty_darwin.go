package core

// Terminal sessions on macOS: posix_openpt/grantpt/unlockpt as /dev/ptmx with
// TIOCPTYGRANT, TIOCPTYUNLK and TIOCPTYGNAME; the leader leads a session with the
// slave as its controlling terminal (startAttr's Setsid + Setctty). Compiled and
// vetted on Linux; never run here: unproven until a macOS run. macOS has no public
// way to see what a process is blocked in, so inputWaiting is never proved.

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const inputProof = "unsupported"

func openTerminal(rows, cols int) (t *terminal, slave *os.File, err error) {
	fail := func(call string, err error) (*terminal, *os.File, error) {
		errno, _ := err.(syscall.Errno)
		if errno == 0 {
			errno = unix.EIO
		}
		return nil, nil, &Error{Code: errnoName(errno), Errno: errno, Syscall: call, Path: "/dev/ptmx", Err: err,
			Msg: fmt.Sprintf("terminal: %s: %v", call, err)}
	}
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return fail("open", err)
	}
	fds := []int{mfd}
	defer func() {
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}()
	for _, c := range []struct {
		name string
		req  uintptr
	}{{"grantpt", unix.TIOCPTYGRANT}, {"unlockpt", unix.TIOCPTYUNLK}} {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(mfd), c.req, 0); errno != 0 {
			err = errno
			return fail(c.name, err)
		}
	}
	var buf [128]byte
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(mfd), unix.TIOCPTYGNAME, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
		err = errno
		return fail("ptsname", err)
	}
	name := string(buf[:bytes.IndexByte(buf[:], 0)])
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open slave", err)
	}
	fds = append(fds, sfd)
	if err = setSize(uintptr(mfd), rows, cols); err != nil {
		return fail("TIOCSWINSZ", err)
	}
	var dups [2]int
	for i := range dups {
		if dups[i], err = unix.FcntlInt(uintptr(mfd), unix.F_DUPFD_CLOEXEC, 0); err != nil {
			return fail("dup", err)
		}
		fds = append(fds, dups[i])
	}
	return &terminal{
		master: os.NewFile(uintptr(mfd), "/dev/ptmx"),
		input:  os.NewFile(uintptr(dups[0]), "/dev/ptmx"),
		ctl:    os.NewFile(uintptr(dups[1]), "/dev/ptmx"),
		name:   name,
	}, os.NewFile(uintptr(sfd), name), nil
}

func (t *terminal) readingTerminal(pid int) bool { return false }

// groupMembers lists the tree's members in process group pgid (the kernel's
// process table).
func (c *Child) groupMembers(pgid int) []int {
	procs, ok := readKinfo()
	if !ok {
		return nil
	}
	in := map[int]bool{}
	for _, m := range c.p.members() {
		in[m] = true
	}
	var out []int
	for _, kp := range procs {
		if kp.pgid == pgid && !kp.zombie && in[kp.pid] {
			out = append(out, kp.pid)
		}
	}
	return out
}

// signalGroup signals the tree's members in group pgid, each by pid (macOS has no
// pidfd: a member that exits and whose pid is re-used between the scan and the
// signal could be hit; the leader, unreaped, pins the session meanwhile).
func (c *Child) signalGroup(pgid, sig int) []int {
	reached := []int{}
	for _, pid := range c.groupMembers(pgid) {
		if mayTouch(pid) && unix.Kill(pid, unix.Signal(sig)) == nil {
			reached = append(reached, pid)
		}
	}
	return reached
}
