package core

import "golang.org/x/sys/unix"

// kinfo is one row of the kernel's process table.
type kinfo struct {
	pid, ppid, pgid int
	zombie          bool
}

const sZOMB = 5 // p_stat of a zombie (sys/proc.h)

// readKinfo reads the kernel's process table (sysctl kern.proc.all).
func readKinfo() ([]kinfo, bool) {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil, false
	}
	out := make([]kinfo, 0, len(procs))
	for _, kp := range procs {
		out = append(out, kinfo{pid: int(kp.Proc.P_pid), ppid: int(kp.Eproc.Ppid), pgid: int(kp.Eproc.Pgid), zombie: kp.Proc.P_stat == sZOMB})
	}
	return out, true
}

// descendantsTable: the parent links of every process in the table.
func descendantsTable(pid int) procTable {
	procs, _ := readKinfo()
	kids := map[int][]int{}
	for _, kp := range procs {
		kids[kp.ppid] = append(kids[kp.ppid], kp.pid)
	}
	return procTable{kids: kids}
}

// processState asks kill(pid, 0) whether pid exists, and the process table
// whether it is a zombie.
func processState(pid int) ProcState {
	if unix.Kill(pid, 0) == unix.ESRCH {
		return ProcGone
	}
	if kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid); err == nil && int(kp.Proc.P_pid) == pid && kp.Proc.P_stat == sZOMB {
		return ProcZombie
	}
	return ProcAlive
}

// signalTree: the group at once if pid leads one (and the host is not in it),
// then pid and each live descendant of the table. Without pidfds a pid that is
// re-used between the read of the table and the kill cannot be told apart.
func signalTree(pid, sig int) []int {
	procs, _ := readKinfo()
	kids := map[int][]int{}
	alive := map[int]bool{}
	var group []int
	for _, kp := range procs {
		if kp.zombie {
			continue
		}
		alive[kp.pid] = true
		kids[kp.ppid] = append(kids[kp.ppid], kp.pid)
		if kp.pgid == pid {
			group = append(group, kp.pid)
		}
	}
	killGroup := func() bool { return unix.Getpgrp() != pid && unix.Kill(-pid, unix.Signal(sig)) == nil }
	return signalTable(pid, procTable{kids: kids}, group, killGroup, func(m int) bool {
		return alive[m] && unix.Kill(m, unix.Signal(sig)) == nil
	})
}
