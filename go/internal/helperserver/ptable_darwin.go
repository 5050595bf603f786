package helperserver

import (
	"os"
	"strconv"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

const sZOMB = 5 // p_stat of a zombie (sys/proc.h)

// readTable reads the kernel's process table (sysctl kern.proc.all). The session
// id is not in kinfo_proc: getsid(2) is asked for the processes of the helper's
// uid (the only ones it may signal), -1 for the rest and for those gone meanwhile.
func readTable() ([]procRow, bool) {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, false
	}
	uid := os.Getuid()
	out := make([]procRow, 0, len(procs))
	for _, kp := range procs {
		r := procRow{pid: int(kp.Proc.P_pid), ppid: int(kp.Eproc.Ppid), pgid: int(kp.Eproc.Pgid),
			uid: int(kp.Eproc.Ucred.Uid), zombie: kp.Proc.P_stat == sZOMB, sid: -1,
			start: kp.Proc.P_starttime.Sec*1_000_000 + int64(kp.Proc.P_starttime.Usec)}
		if r.uid == uid && !r.zombie {
			if sid, err := unix.Getsid(r.pid); err == nil {
				r.sid = sid
			}
		}
		out = append(out, r)
	}
	return out, true
}

// closeInheritedDarwin closes every fd above the socket that came without
// close-on-exec (what the host held when it started the helper is of no use here
// and must not be kept open for the helper's life).
func closeInheritedDarwin() {
	ents, err := os.ReadDir("/dev/fd")
	if err != nil {
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

// quietStdioDarwin points fds 0–2 at /dev/null (the host's stdout and stderr
// must not be held for the helper's life).
func quietStdioDarwin() {
	null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	for fd := 0; fd <= 2; fd++ {
		unix.Dup2(null, fd)
	}
	unix.Close(null)
}
