//go:build linux

package core

import (
	"bytes"
	"os/exec"
	"testing"
	"time"
)

func sig(o *Outcome) string {
	if o.Signal == nil {
		return "<nil>"
	}
	return *o.Signal
}

// startTree starts a 7-process tree of sleepers and returns every member's pid.
func startTree(h *harness, o *Options) (*Child, []int) {
	h.t.Helper()
	o.Argv = helperArgv("tree", "2", "2")
	o.Stdout = StdioPipe
	c := h.start(o)
	h.waitFor(c, "7 tree nodes", func(k *kid) bool { return bytes.Count(k.stdout, []byte("node pid=")) == 7 })
	return c, append(h.trackPrinted(c), c.Pid())
}

func TestCancelEndsSleepingTreeWithSigterm(t *testing.T) {
	for _, reason := range []string{ReasonStop, ReasonAbort} {
		t.Run(reason, func(t *testing.T) {
			h := newHarness(t)
			c, pids := startTree(h, &Options{})
			c.Cancel(reason, 0, -1)
			o := h.waitExit(c)
			assertAllDead(t, "after cancel", pids...)
			if o.Reason != reason || sig(o) != "SIGTERM" || o.Code != nil {
				t.Errorf("reason %q signal %s code %v, want %q SIGTERM nil", o.Reason, sig(o), o.Code, reason)
			}
			if o.Phases.GraceMs <= 0 || o.Phases.KillMs != 0 {
				t.Errorf("phases %+v: want a grace phase and no kill phase", o.Phases)
			}
			if o.Truncated || len(o.Leftovers) != 0 || len(o.Errors) != 0 {
				t.Errorf("outcome %s", h.kidCopy(c).raw)
			}
		})
	}
}

func TestCancelKillsTermIgnoringLeaderAfterGrace(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("ignore-term"), Stdout: StdioPipe})
	h.waitStdout(c, "ready")
	c.Cancel(ReasonStop, 0, 300*time.Millisecond)
	o := h.waitExit(c)
	assertAllDead(t, "after cancel", c.Pid())
	if sig(o) != "SIGKILL" || o.Reason != ReasonStop {
		t.Errorf("signal %s reason %s, want SIGKILL stop", sig(o), o.Reason)
	}
	// The grace is waited in full before SIGKILL: a lower bound the code guarantees.
	if o.Phases.GraceMs < 300 || o.Phases.KillMs <= 0 {
		t.Errorf("phases %+v: want graceMs ≥ 300 and killMs > 0", o.Phases)
	}
}

func TestCancelWithoutGraceKillsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  Options
		sig   int
		grace time.Duration
	}{
		{"grace 0", Options{}, 0, 0},
		{"options graceMs 0", Options{GraceMs: i64(0)}, 0, -1},
		{"SIGKILL", Options{}, sigKILL, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			o := tc.opts
			o.Argv, o.Stdout = helperArgv("ignore-term"), StdioPipe
			c := h.start(&o)
			h.waitStdout(c, "ready")
			c.Cancel(ReasonStop, tc.sig, tc.grace)
			out := h.waitExit(c)
			assertAllDead(t, "after cancel", c.Pid())
			if sig(out) != "SIGKILL" {
				t.Errorf("signal %s, want SIGKILL", sig(out))
			}
			if out.Phases.KillMs <= 0 {
				t.Errorf("phases %+v: want a kill phase", out.Phases)
			}
			if tc.sig == sigKILL && out.Phases.GraceMs != 0 {
				t.Errorf("phases %+v: SIGKILL first has no grace phase", out.Phases)
			}
		})
	}
}

func TestCancelKillsTermIgnoringGrandchildAfterLeaderDies(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "wait", "0", "ignore-term"), Stdout: StdioPipe})
	h.waitStdout(c, "ready pid=")
	h.waitStdout(c, "gc=")
	gc := h.trackPrinted(c)[0]
	c.Cancel(ReasonStop, 0, 300*time.Millisecond)
	o := h.waitExit(c)
	assertAllDead(t, "after cancel", c.Pid(), gc)
	if sig(o) != "SIGTERM" {
		t.Errorf("leader signal %s, want SIGTERM (it does not ignore it)", sig(o))
	}
	if o.Phases.GraceMs < 300 || o.Phases.KillMs <= 0 {
		t.Errorf("phases %+v: the grandchild outlived the grace, so want graceMs ≥ 300 and a kill phase", o.Phases)
	}
	if o.Truncated || len(o.Errors) != 0 {
		t.Errorf("outcome %s", h.kidCopy(c).raw)
	}
}

// A grandchild that called setsid() leaves the session and the group; the tree
// still finds it (it carries the tree's marker and, until its parent dies, descends
// from the leader), so it dies with the cancel and its stdout reaches EOF. This runs
// without the helper: the fallback's own means are enough here.
func TestCancelKillsSetsidEscaper(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "wait", "1", "sleep"), Stdout: StdioPipe, DrainIdleMs: i64(300)})
	h.waitStdout(c, "ready pid=")
	h.waitStdout(c, "gc=")
	gc := h.trackPrinted(c)[0]
	if st, _ := procInfo(gc); st.sid != gc {
		t.Fatalf("escaper %d has sid %d, want its own", gc, st.sid)
	}
	c.Cancel(ReasonStop, 0, 300*time.Millisecond)
	o := h.waitExit(c)
	assertAllDead(t, "after cancel", c.Pid())
	if alive(gc) {
		t.Errorf("the setsid escaper %d survived the cancel", gc)
	}
	if o.Truncated {
		t.Errorf("outcome %s: the escaper's pipe should end at EOF, not be cut", h.kidCopy(c).raw)
	}
}

func TestCancelTwiceAndAfterExitAreNoOps(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("sleep"), Stdout: StdioPipe})
	h.waitStdout(c, "ready")
	c.Cancel(ReasonStop, 0, 5*time.Second)
	c.Cancel(ReasonAbort, sigKILL, 0) // ignored: the first cancel's ladder runs
	o := h.waitExit(c)
	if o.Reason != ReasonStop || sig(o) != "SIGTERM" {
		t.Errorf("reason %q signal %s, want the first cancel's: stop, SIGTERM", o.Reason, sig(o))
	}
	before := len(h.kidCopy(c).types)
	c.Cancel(ReasonTimeout, 0, -1)
	c.Cancel(ReasonHost, sigKILL, 0)
	if err := c.Signal(int(sigTERM), false); err != nil {
		t.Errorf("Signal after exit: %v", err)
	}
	if err := c.Signal(int(sigTERM), true); err != nil {
		t.Errorf("Signal(tree) after exit: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // give a wrongly started ladder the chance to emit
	if after := len(h.kidCopy(c).types); after != before {
		t.Errorf("%d events after a cancel after exit", after-before)
	}
}

func TestCancelAfterNaturalExitKeepsReasonExit(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("write", "", "", "3")})
	<-waitDone(t, c)
	c.Cancel(ReasonStop, 0, -1)
	o := h.waitExit(c)
	if o.Reason != ReasonExit || o.Code == nil || *o.Code != 3 {
		t.Errorf("reason %q code %v", o.Reason, o.Code)
	}
}

// waitDone returns Done, failing the test if it is not closed within bound.
func waitDone(t *testing.T, c *Child) <-chan struct{} {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(bound):
		t.Fatalf("Done not closed within %v", bound)
	}
	return c.Done()
}

func TestSignalTreeOnceWithoutLadder(t *testing.T) {
	h := newHarness(t)
	c, pids := startTree(h, &Options{})
	if err := c.Signal(int(sigTERM), true); err != nil {
		t.Fatal(err)
	}
	o := h.waitExit(c)
	// No ladder, so nothing confirms the tree gone before EXIT: a member can have
	// closed its fds (the drain saw EOF) while still inside exit. Wait, bounded.
	tracked := map[int]uint64{}
	for _, p := range pids {
		st, _ := procInfo(p)
		tracked[p] = st.start
	}
	if left := waitGone(tracked, bound); len(left) > 0 {
		t.Errorf("after Signal(tree): %v still alive", left)
	}
	if o.Reason != ReasonExit || sig(o) != "SIGTERM" {
		t.Errorf("reason %q signal %s, want exit SIGTERM", o.Reason, sig(o))
	}
}

// shArgv runs script in sh; used where a timer starts with the child, because sh
// is up in milliseconds where a -race helper can take a second.
func shArgv(t *testing.T, script string) []string {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	return []string{sh, "-c", script}
}

func TestTimeoutCancelsAndKeepsEarlierOutput(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: shArgv(t, "echo before-timeout; exec sleep 60"), Stdout: StdioPipe, TimeoutMs: i64(1000)})
	o := h.waitExit(c)
	assertAllDead(t, "after timeout", c.Pid())
	if o.Reason != ReasonTimeout || sig(o) != "SIGTERM" {
		t.Errorf("reason %q signal %s, want timeout SIGTERM", o.Reason, sig(o))
	}
	if got := string(h.stdout(c)); got != "before-timeout\n" || o.StdoutBytes != int64(len(got)) {
		t.Errorf("stdout %q (%d bytes in the outcome): the output before the timeout is lost", got, o.StdoutBytes)
	}
	if o.Phases.RunMs < 1000 {
		t.Errorf("runMs %v < timeoutMs 1000", o.Phases.RunMs)
	}
}

func TestTimeoutEscalatesToSigkill(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: shArgv(t, "trap '' TERM; echo ready; exec sleep 60"), Stdout: StdioPipe, TimeoutMs: i64(1000), GraceMs: i64(200)})
	o := h.waitExit(c)
	assertAllDead(t, "after timeout", c.Pid())
	if string(h.stdout(c)) != "ready\n" {
		t.Fatalf("the shell was not ready before the timeout: %q", h.stdout(c))
	}
	if o.Reason != ReasonTimeout || sig(o) != "SIGKILL" || o.Phases.KillMs <= 0 {
		t.Errorf("outcome %s: want timeout, SIGKILL, a kill phase", h.kidCopy(c).raw)
	}
}

func TestForgetKillsTreeAndEmitsNothing(t *testing.T) {
	h := newHarness(t)
	c, pids := startTree(h, &Options{})
	n := len(h.kidCopy(c).types)
	c.Forget()
	waitDone(t, c)
	assertAllDead(t, "after Forget", pids...)
	time.Sleep(100 * time.Millisecond)
	if k := h.kidCopy(c); k.exited {
		t.Errorf("EXIT after Forget; events after it: %v", k.types[n:])
	}
}
