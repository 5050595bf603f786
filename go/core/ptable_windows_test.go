package core

import (
	"os"
	"slices"
	"testing"
	"time"
)

// An unsupervised tree (started by os/exec, not by the core): SignalTree ends
// every node, and ProcessState sees each go.
func TestWindowsSignalTreeAndProcessStateOfAnUnsupervisedTree(t *testing.T) {
	h := newWinHarness(t)
	dir := tempDir(t)
	cmd := helperCmd("tree", "2", "0", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pids := waitNodes(dir, 3, 20*time.Second)
	if len(pids) != 3 {
		cmd.Process.Kill()
		t.Fatalf("tree nodes %v, want 3", pids)
	}
	for _, p := range pids {
		h.track(p)
		if st, err := ProcessState(p); err != nil || st != ProcAlive {
			t.Errorf("ProcessState(%d) = %v, %v; want alive", p, st, err)
		}
	}
	got, err := SignalTree(cmd.Process.Pid, sigKILL)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(pids)
	if !slices.Equal(got, pids) {
		t.Errorf("SignalTree(%d, SIGKILL) = %v, want %v", cmd.Process.Pid, got, pids)
	}
	if left := h.waitGone(pids, 10*time.Second); len(left) > 0 {
		t.Errorf("after SignalTree, %v still run", left)
	}
	for _, p := range pids {
		if st, _ := ProcessState(p); st != ProcGone {
			t.Errorf("ProcessState(%d) after the kill = %v, want gone", p, st)
		}
	}
	if _, err := SignalTree(os.Getpid(), 0); err == nil {
		t.Error("SignalTree of the host itself: no error")
	}
}
