//go:build linux

package core

// The process table's exported questions: ProcessState and SignalTree. Every
// signal here goes to a tree the test started; the refusals signal nothing.

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestProcessStateAliveZombieGone(t *testing.T) {
	cmd := exec.Command(selfExe(), helperArg, helperName("sleep"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Process.Kill()
	if st, err := ProcessState(pid); err != nil || st != ProcAlive {
		t.Errorf("ProcessState(running %d) = %v, %v; want alive", pid, st, err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	// Not reaped yet: a zombie until Wait.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := ProcessState(pid)
		if st == ProcZombie {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ProcessState(killed, unreaped %d) = %v; want zombie", pid, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Wait()
	if st, err := ProcessState(pid); err != nil || st != ProcGone {
		t.Errorf("ProcessState(reaped %d) = %v, %v; want gone", pid, st, err)
	}
	if st, err := ProcessState(os.Getpid()); err != nil || st != ProcAlive {
		t.Errorf("ProcessState(self) = %v, %v; want alive", st, err)
	}
	for _, bad := range []int{0, -1, maxPid + 1} {
		if _, err := ProcessState(bad); err == nil {
			t.Errorf("ProcessState(%d): no error", bad)
		}
	}
}

func TestSignalTreeReachesGroupLeaderAndDescendants(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("tree", "2", "2"), Stdout: StdioPipe})
	h.waitFor(c, "7 tree nodes", func(k *kid) bool { return bytes.Count(k.stdout, []byte("node pid=")) == 7 })
	pids := append(h.trackPrinted(c), c.Pid())
	slices.Sort(pids)

	// Signal 0 checks: every member listed, none harmed.
	got, err := SignalTree(c.Pid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, pids) {
		t.Errorf("SignalTree(%d, 0) = %v, want %v", c.Pid(), got, pids)
	}
	for _, p := range pids {
		if !alive(p) {
			t.Errorf("pid %d gone after signal 0", p)
		}
	}

	got, err = SignalTree(c.Pid(), int(syscall.SIGKILL))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, pids) {
		t.Errorf("SignalTree(%d, SIGKILL) = %v, want %v", c.Pid(), got, pids)
	}
	if o := h.waitExit(c); o.Signal == nil || *o.Signal != "SIGKILL" {
		t.Errorf("outcome %s: want SIGKILL", h.kidCopy(c).raw)
	}
	tracked := map[int]uint64{}
	for _, p := range pids {
		if st, ok := procInfo(p); ok {
			tracked[p] = st.start
		}
	}
	if left := waitGone(tracked, 5*time.Second); len(left) > 0 {
		t.Errorf("after SignalTree(SIGKILL): %v still alive", left)
	}
}

// The refusals come before any signal: init, the host, pids and signals out of
// range.
func TestSignalTreeRefusesInitHostAndBadArguments(t *testing.T) {
	for _, tc := range []struct{ pid, sig int }{
		{1, 0}, {0, 0}, {-1, 0}, {os.Getpid(), 0}, {maxPid + 1, 0},
		{2, -1}, {2, MaxSignal + 1},
	} {
		if got, err := SignalTree(tc.pid, tc.sig); err == nil {
			t.Errorf("SignalTree(%d, %d) = %v, no error", tc.pid, tc.sig, got)
		}
	}
}

// A tree whose member is the host: the host is never signalled, nor its group.
func TestSignalTreeSkipsTheHost(t *testing.T) {
	parent := os.Getppid()
	if parent <= 1 {
		t.Skip("the test process has no parent to ask about")
	}
	// Signal 0 only: nothing is harmed, and the answer must not list the host.
	got, err := SignalTree(parent, 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, os.Getpid()) {
		t.Errorf("SignalTree(parent %d, 0) = %v lists the host %d", parent, got, os.Getpid())
	}
}
