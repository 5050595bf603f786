package core

// Seams with the core reshape's files, for this branch alone: delete this file once
// reshape-core is merged (child.go then calls letGo; threads_linux.go and its test
// then use go/internal/pidfd.WaitPoll and go/internal/procfs).

import (
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// release is letGo under its old name (child.go).
func (p *proc) release(pids []int) { p.letGo(pids) }

// sigchld is siginfo's SIGCHLD layout for threads_linux.go's waitPoll (the same
// as go/internal/pidfd's, which the core uses).
type sigchld struct {
	signo, errno, code, _ int32
	pid, uid, status      int32
}

// procStat and readStat are procfs.Stat and procfs.ReadStat under their old
// names (threads_linux_test.go).
type procStat struct {
	pid, ppid, pgid, sid int
	state                byte
	start                uint64
}

func readStat(pid int) (procStat, bool) {
	st, ok := procfs.ReadStat(pid)
	return procStat{st.Pid, st.PPid, st.Pgid, st.Sid, st.State, st.Start}, ok
}

// status reads the exit from a SIGCHLD siginfo (threads_linux_test.go).
func (p *proc) status(info *unix.Siginfo) exitStatus {
	si := (*sigchld)(unsafe.Pointer(info))
	if si.code == 1 { // CLD_EXITED
		return exitStatus{code: int(si.status)}
	}
	return exitStatus{signal: int(si.status)}
}
