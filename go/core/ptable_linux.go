package core

import (
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// descendantsTable is one scan of /proc: the parent links of the live processes.
func descendantsTable(pid int) procTable {
	defer blocking()()
	_, kids := procfs.LiveTable()
	return procTable{kids: kids}
}

// processState reads pid's state from /proc, and asks kill(pid, 0) whether a pid
// that /proc does not show exists all the same (hidepid hides other users').
func processState(pid int) ProcState {
	err := unix.Kill(pid, 0)
	if err == unix.ESRCH {
		return ProcGone
	}
	st, ok := procfs.ReadStat(pid)
	switch {
	case ok && st.Dead():
		return ProcZombie
	case ok || err == unix.EPERM:
		return ProcAlive
	}
	return ProcGone // reaped between the two looks
}

// signalTree: the group at once if pid leads one (and the host is not in it),
// then pid and each descendant through a pidfd, each confirmed to be the process
// the scan listed (procfs.Signal).
func signalTree(pid, sig int) []int {
	all, kids := func() (map[int]procfs.Stat, map[int][]int) {
		defer blocking()()
		return procfs.LiveTable()
	}()
	var group []int
	for _, st := range all {
		if st.Pgid == pid {
			group = append(group, st.Pid)
		}
	}
	// A group id is not re-used while the group has a member.
	killGroup := func() bool { return unix.Getpgrp() != pid && unix.Kill(-pid, unix.Signal(sig)) == nil }
	return signalTable(pid, procTable{kids: kids}, group, killGroup, func(m int) bool {
		st, ok := all[m]
		return ok && procfs.Signal(st, unix.Signal(sig))
	})
}
