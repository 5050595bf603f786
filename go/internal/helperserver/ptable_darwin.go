package helperserver

import (
	"os"

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

// closeInherited closes every fd above the socket that came without close-on-exec
// (closeInheritedIn).
func closeInherited() { closeInheritedIn("/dev/fd") }

func dupOnto(fd, onto int) { unix.Dup2(fd, onto) }
