package core

import (
	"bytes"
	"os"
	"strconv"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// inputProof: on Linux a member waiting for terminal input is seen in /proc.
const inputProof = "procfs"

// openPty opens a pseudo-terminal pair, posix_openpt/grantpt/unlockpt/ptsname as
// /dev/ptmx, TIOCSPTLCK, TIOCGPTN and TIOCGPTPEER; call names the step that failed.
func openPty() (mfd, sfd int, name, call string, err error) {
	m, fail, err := openMaster()
	if err != nil {
		return -1, -1, "", "open", err
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		return fail("unlockpt", err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		return fail("ptsname", err)
	}
	name = "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	// TIOCGPTPEER opens this master's own slave (no path look-up that another
	// devpts could answer); before Linux 4.13, the path.
	s, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m), unix.TIOCGPTPEER, uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		o, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fail("open slave", err)
		}
		s = uintptr(o)
	}
	return m, int(s), name, "", nil
}

// readingTerminal reports whether pid is blocked waiting to read this terminal, as
// /proc shows it:
//   - its wchan is n_tty_read (kernels whose wchan names it); or
//   - /proc/<pid>/syscall shows read, readv or pread64 of a fd that is this
//     terminal's slave (dash, cat, read(1)); or
//   - select/pselect6 with one fd (fd 0) in the read set only, fd 0 this terminal
//     (bash's readline); or
//   - poll/ppoll of one pollfd asking POLLIN of a fd that is this terminal (the
//     pollfd read from /proc/<pid>/mem).
//
// Anything else (several fds polled, a process running) is not counted: it may be
// waiting, but not provably on the terminal.
func (t *terminal) readingTerminal(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if w, err := os.ReadFile(dir + "wchan"); err == nil && string(w) == "n_tty_read" {
		return true
	}
	b, err := os.ReadFile(dir + "syscall")
	if err != nil {
		return false
	}
	f := bytes.Fields(b)
	if len(f) < 5 {
		return false // "running", or nothing known
	}
	nr, err := strconv.Atoi(string(f[0]))
	if err != nil {
		return false
	}
	var arg [4]uint64
	for i := range arg {
		if arg[i], err = strconv.ParseUint(string(bytes.TrimPrefix(f[i+1], []byte("0x"))), 16, 64); err != nil {
			return false
		}
	}
	isTerminal := func(fd uint64) bool {
		link, err := os.Readlink(dir + "fd/" + strconv.FormatUint(fd, 10))
		return err == nil && link == t.name
	}
	switch {
	case nr == unix.SYS_READ || nr == unix.SYS_READV || nr == unix.SYS_PREAD64:
		return isTerminal(arg[0])
	case isSelect(nr):
		// nfds 1: only fd 0 can be in a set; a read set and no other.
		return arg[0] == 1 && arg[1] != 0 && arg[2] == 0 && arg[3] == 0 && isTerminal(0)
	case isPoll(nr):
		if arg[1] != 1 || arg[0] == 0 {
			return false
		}
		mem, err := os.Open(dir + "mem")
		if err != nil {
			return false
		}
		defer mem.Close()
		var pfd [8]byte // struct pollfd: int fd; short events; short revents (little-endian: amd64, arm64)
		if n, err := mem.ReadAt(pfd[:], int64(arg[0])); n != len(pfd) || err != nil {
			return false
		}
		fd := int32(uint32(pfd[0]) | uint32(pfd[1])<<8 | uint32(pfd[2])<<16 | uint32(pfd[3])<<24)
		events := uint16(pfd[4]) | uint16(pfd[5])<<8
		return fd >= 0 && events&unix.POLLIN != 0 && isTerminal(uint64(fd))
	}
	return false
}

// groupMembers lists the tree's members in process group pgid.
func (c *Child) groupMembers(pgid int) []int {
	var out []int
	for _, st := range c.p.tree() {
		if st.Pgid == pgid && !st.Dead() {
			out = append(out, st.Pid)
		}
	}
	return out
}

// signalGroup signals each member of the tree in group pgid through a pidfd (the
// very process the scan listed) and returns those reached.
func (c *Child) signalGroup(pgid, sig int) []int {
	reached := []int{}
	for _, st := range c.p.tree() {
		if st.Pgid == pgid && procfs.Signal(st, unix.Signal(sig)) {
			reached = append(reached, st.Pid)
		}
	}
	return reached
}
