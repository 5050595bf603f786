package core

// Terminal sessions on macOS: posix_openpt/grantpt/unlockpt as /dev/ptmx with
// TIOCPTYGRANT, TIOCPTYUNLK and TIOCPTYGNAME; the leader leads a session with the
// slave as its controlling terminal (startAttr's Setsid + Setctty). Compiled and
// vetted on Linux; never run here: unproven until a macOS run. macOS has no public
// way to see what a process is blocked in, so inputWaiting is never proved.

import (
	"bytes"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const inputProof = "unsupported"

// openPty opens a pseudo-terminal pair, posix_openpt/grantpt/unlockpt/ptsname as
// /dev/ptmx, TIOCPTYGRANT, TIOCPTYUNLK and TIOCPTYGNAME; call names the step that
// failed.
func openPty() (mfd, sfd int, name, call string, err error) {
	m, fail, err := openMaster()
	if err != nil {
		return -1, -1, "", "open", err
	}
	for _, c := range []struct {
		name string
		req  uintptr
	}{{"grantpt", unix.TIOCPTYGRANT}, {"unlockpt", unix.TIOCPTYUNLK}} {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(m), c.req, 0); errno != 0 {
			return fail(c.name, errno)
		}
	}
	var buf [128]byte
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(m), unix.TIOCPTYGNAME, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
		return fail("ptsname", errno)
	}
	name = string(buf[:bytes.IndexByte(buf[:], 0)])
	s, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open slave", err)
	}
	return m, s, name, "", nil
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
