package pidfd

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A fork that may not ask clone for the pidfd (after a refusal) still hands one
// back, from pidfd_open, and leaves the caller's attr as it was.
func TestForkExecWithoutClonePidfdStillGivesOne(t *testing.T) {
	for _, refused := range []bool{false, true} {
		cloneRefused.Store(refused)
		pfd := -1
		attr := &syscall.ProcAttr{Sys: &syscall.SysProcAttr{PidFD: &pfd}}
		pid, err := ForkExec("/bin/true", []string{"true"}, attr)
		if err != nil {
			t.Fatalf("refused=%v: %v", refused, err)
		}
		if attr.Sys.PidFD != &pfd {
			t.Fatalf("refused=%v: the caller's attr was changed", refused)
		}
		if pfd < 0 {
			t.Fatalf("refused=%v: no pidfd for pid %d", refused, pid)
		}
		f := Open(pfd)
		st, err := Wait(f, pid)
		f.Close()
		if err != nil || st.Code != 0 {
			t.Fatalf("refused=%v: wait: %+v %v", refused, st, err)
		}
		Reap(pid)
		if err := unix.Kill(pid, 0); err != unix.ESRCH {
			t.Fatalf("refused=%v: pid %d still there after the reap (%v)", refused, pid, err)
		}
	}
	cloneRefused.Store(false)
}

// An EINVAL of the child's own (here: setpgid to a negative group) is returned, and
// does not stop later forks from asking clone.
func TestForkExecChildEinvalIsNotTakenForARefusal(t *testing.T) {
	cloneRefused.Store(false)
	pfd := -1
	attr := &syscall.ProcAttr{Sys: &syscall.SysProcAttr{Setpgid: true, Pgid: -5, PidFD: &pfd}}
	if _, err := ForkExec("/bin/true", []string{"true"}, attr); err != syscall.EINVAL {
		t.Fatalf("setpgid(0, -5) in the child: %v, want EINVAL", err)
	}
	if cloneRefused.Load() {
		t.Fatal("the child's own error was taken for a CLONE_PIDFD refusal")
	}
}
