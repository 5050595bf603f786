//go:build linux

package core

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDrainIdleBoundEndsExitWhenGrandchildHoldsStdout(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "sleep"), Stdout: StdioPipe, Stderr: StdioPipe})
	o := h.waitExit(c)
	gcs := h.trackPrinted(c)
	if len(gcs) == 0 {
		t.Fatalf("no gc= line in %q", h.stdout(c))
	}
	gc := gcs[0]
	if !alive(gc) {
		t.Errorf("the grandchild %d was killed; by default leftovers are left running", gc)
	}
	if o.Reason != ReasonExit || o.Code == nil || *o.Code != 0 || !o.Truncated {
		t.Errorf("outcome %s: want exit 0, truncated", h.kidCopy(c).raw)
	}
	if !slices.Contains(o.Leftovers, gc) {
		t.Errorf("leftovers %v do not list the grandchild %d", o.Leftovers, gc)
	}
	if !strings.Contains(strings.Join(o.Errors, "\n"), "drainIdleMs") {
		t.Errorf("errors %q do not name the bound that fired", o.Errors)
	}
	// The idle bound is waited in full (a lower bound the code guarantees).
	if o.Phases.DrainMs < float64(DefaultDrainIdle.Milliseconds()) {
		t.Errorf("drainMs %v < the default idle bound %v", o.Phases.DrainMs, DefaultDrainIdle)
	}
}

func TestKillTreeOnExitKillsLeftovers(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "sleep"), Stdout: StdioPipe, KillTreeOnExit: true})
	o := h.waitExit(c)
	gc := h.trackPrinted(c)[0]
	assertAllDead(t, "killTreeOnExit", gc, c.Pid())
	if o.Reason != ReasonExit || o.Code == nil || *o.Code != 0 || o.Truncated {
		t.Errorf("outcome %s: want exit 0, not truncated", h.kidCopy(c).raw)
	}
	if !slices.Contains(o.Leftovers, gc) {
		t.Errorf("leftovers %v do not list the killed grandchild %d", o.Leftovers, gc)
	}
}

func TestDrainMaxCapsHolderThatKeepsWriting(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "tick"), Stdout: StdioPipe, DrainMaxMs: i64(1500)})
	o := h.waitExit(c)
	h.trackPrinted(c)
	if !o.Truncated || !strings.Contains(strings.Join(o.Errors, "\n"), "drainMaxMs") {
		t.Errorf("outcome %s: want truncated by drainMaxMs", h.kidCopy(c).raw)
	}
	if o.Phases.DrainMs < 1500 {
		t.Errorf("drainMs %v < drainMaxMs 1500", o.Phases.DrainMs)
	}
	if !bytes.Contains(h.stdout(c), []byte("tick")) {
		t.Errorf("no tick delivered during the drain: %q", h.stdout(c))
	}
}

// drainIdleMs 0 means "do not wait for a holder", not "drop what is already in the
// pipe": output written before the leader exited is delivered whole, even when the
// stream is paused at the exit and never resumed (the drain sweeps the pipe).
func TestDrainIdleZeroStillDeliversBufferedOutput(t *testing.T) {
	const n = 16 << 10
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("writes", strconv.Itoa(n), "3", "300"), Stdout: StdioPipe, DrainIdleMs: i64(0), DrainMaxMs: i64(0)})
	h.waitFor(c, "the first write", func(k *kid) bool { return len(k.stdout) >= n })
	if err := c.SetFlow(StreamStdout, true); err != nil {
		t.Fatal(err)
	}
	o := h.waitExit(c)
	want := make([]byte, 3*n)
	fillPattern(want, 0)
	if got := h.stdout(c); !bytes.Equal(got, want) || o.Truncated {
		t.Errorf("%d of %d bytes, truncated %v, errors %q", len(got), 3*n, o.Truncated, o.Errors)
	}
}

// Issue 10, defect 1: nobody reads stdout (the host paused it at once) and a timeout
// kills the writer. Once the tree is gone no more bytes can come: what is in the
// pipe is taken, the stream ends and EXIT comes, although the host never resumes.
func TestUnreadStdoutDoesNotHoldExitAfterTimeout(t *testing.T) {
	for _, cancel := range []string{"timeout", "cancel"} {
		t.Run(cancel, func(t *testing.T) {
			h := newHarness(t)
			o := &Options{Argv: helperArgv("pattern", strconv.Itoa(64<<20), "65536"), Stdout: StdioPipe, GraceMs: i64(100)}
			if cancel == "timeout" {
				o.TimeoutMs = i64(500)
			}
			c := h.start(o)
			if err := c.SetFlow(StreamStdout, true); err != nil {
				t.Fatal(err)
			}
			if cancel == "cancel" {
				time.Sleep(300 * time.Millisecond)
				c.Cancel(ReasonStop, 0, -1)
			}
			if !h.waitForWithin(c, 5*time.Second, func(k *kid) bool { return k.exited }) {
				t.Fatalf("no EXIT within 5 s while stdout stayed paused (%d bytes delivered)", len(h.stdout(c)))
			}
			out := h.waitExit(c)
			want := make([]byte, len(h.stdout(c)))
			fillPattern(want, 0)
			if got := h.stdout(c); !bytes.Equal(got, want) || int64(len(got)) != out.StdoutBytes {
				t.Errorf("delivered %d bytes (outcome says %d), pattern intact %v", len(got), out.StdoutBytes, bytes.Equal(got, want))
			}
			if out.Truncated || len(out.Errors) > 0 {
				t.Errorf("outcome %s: the tree is gone, nothing holds the pipe: want not truncated, no errors", h.kidCopy(c).raw)
			}
		})
	}
}

// A paused stream whose pipe a silent leftover holds: the drain bounds run whether
// the host reads or not, so EXIT comes by the idle bound while still paused.
func TestDrainBoundsRunWhilePaused(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "stdin-eof", "0", "sleep"), Stdin: StdioPipe, Stdout: StdioPipe, DrainIdleMs: i64(300)})
	h.waitStdout(c, "ready pid=")
	h.waitStdout(c, "gc=")
	h.trackPrinted(c)
	time.Sleep(50 * time.Millisecond) // the reader is back in read() on an empty pipe
	if err := c.SetFlow(StreamStdout, true); err != nil {
		t.Fatal(err)
	}
	c.CloseStdin() // the leader exits; the grandchild holds stdout silently
	if !h.waitForWithin(c, 5*time.Second, func(k *kid) bool { return k.exited }) {
		t.Fatalf("no EXIT within 5 s: the paused stream held the drain")
	}
	o := h.waitExit(c)
	if !o.Truncated || !strings.Contains(strings.Join(o.Errors, "\n"), "drainIdleMs") {
		t.Errorf("outcome %s: want truncated by drainIdleMs (a holder is left)", h.kidCopy(c).raw)
	}
	if o.Phases.DrainMs < 300 {
		t.Errorf("drainMs %v: the idle bound is waited in full (300)", o.Phases.DrainMs)
	}
}

// A holder that keeps writing into a paused stream: the drain still ends within the
// bounds, with what the pipe held delivered, and says which bound cut it.
func TestPausedDrainWithWritingHolderEndsWithinBounds(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "stdin-eof", "0", "tick"), Stdin: StdioPipe, Stdout: StdioPipe,
		DrainIdleMs: i64(300), DrainMaxMs: i64(1000)})
	h.waitStdout(c, "ready pid=")
	h.waitStdout(c, "gc=")
	h.trackPrinted(c)
	if err := c.SetFlow(StreamStdout, true); err != nil {
		t.Fatal(err)
	}
	c.CloseStdin()
	if !h.waitForWithin(c, 5*time.Second, func(k *kid) bool { return k.exited }) {
		t.Fatalf("no EXIT within 5 s while paused")
	}
	o := h.waitExit(c)
	if !o.Truncated || !strings.Contains(strings.Join(o.Errors, "\n"), "bound fired before EOF") {
		t.Errorf("outcome %s: want truncated by a drain bound", h.kidCopy(c).raw)
	}
	if o.Phases.DrainMs > 3000 {
		t.Errorf("drainMs %v: far beyond drainMaxMs 1000", o.Phases.DrainMs)
	}
}

// Signalling after the EXIT is a no-op: what the leader left behind is reported
// and no longer ours, so not even Signal(tree) may reach it.
func TestSignalAfterExitDoesNotReachLeftovers(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "sleep"), Stdout: StdioPipe, DrainIdleMs: i64(200)})
	o := h.waitExit(c)
	gc := h.trackPrinted(c)[0]
	if !slices.Contains(o.Leftovers, gc) || !alive(gc) {
		t.Fatalf("leftovers %v, grandchild %d alive %v", o.Leftovers, gc, alive(gc))
	}
	if err := c.Signal(int(sigTERM), true); err != nil {
		t.Errorf("Signal(tree) after exit: %v", err)
	}
	if err := c.Signal(int(sigTERM), false); err != nil {
		t.Errorf("Signal after exit: %v", err)
	}
	time.Sleep(300 * time.Millisecond)
	if !alive(gc) {
		t.Errorf("Signal after EXIT killed the leftover %d", gc)
	}
}

func TestPauseStopsDeliveryResumeDeliversEverything(t *testing.T) {
	const n = 16 << 20
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("progress", strconv.Itoa(n), "4096"), Stdout: StdioPipe, Stderr: StdioPipe})
	h.waitFor(c, "256 KiB of stdout", func(k *kid) bool { return len(k.stdout) >= 256<<10 })
	if err := c.SetFlow(StreamStdout, true); err != nil {
		t.Fatal(err)
	}
	written := func() int64 {
		s := string(h.stderr(c))
		i := strings.LastIndex(strings.TrimSuffix(s, "\n"), "w=")
		if i < 0 {
			return 0
		}
		v, _ := strconv.ParseInt(strings.TrimSpace(s[i+2:]), 10, 64)
		return v
	}
	// Wait until the child's write counter stands still: it is blocked on the pipe.
	last, since := written(), time.Now()
	for deadline := time.Now().Add(bound); time.Since(since) < 500*time.Millisecond; {
		if time.Now().After(deadline) {
			t.Fatalf("the child kept writing for %v after the pause (at %d of %d)", bound, written(), n)
		}
		time.Sleep(20 * time.Millisecond)
		if w := written(); w != last {
			last, since = w, time.Now()
		}
	}
	got := len(h.stdout(c))
	if last >= n {
		t.Fatalf("the child wrote everything (%d) while stdout was paused", last)
	}
	time.Sleep(200 * time.Millisecond)
	if again := len(h.stdout(c)); again != got {
		t.Errorf("delivery went on while paused: %d then %d bytes", got, again)
	}
	// What the child wrote but we have not delivered fits in the pipe plus one chunk.
	if last-int64(got) > 1<<20 {
		t.Errorf("%d bytes written but undelivered while paused", last-int64(got))
	}
	if err := c.SetFlow(StreamStdout, false); err != nil {
		t.Fatal(err)
	}
	o := h.waitExit(c)
	out := h.stdout(c)
	want := make([]byte, n)
	fillPattern(want, 0)
	if i := firstDiff(out, want); i >= 0 || o.StdoutBytes != n || o.Truncated {
		t.Errorf("after resume: %d bytes, first difference at %d, outcome %d truncated %v", len(out), i, o.StdoutBytes, o.Truncated)
	}
}

func TestSetFlowOnUnpipedStreamIsUsageError(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("sleep"), Stdout: StdioPipe})
	h.waitStdout(c, "ready")
	wantError(t, c.SetFlow(StreamStderr, true), "EINVAL", "not a pipe")
	wantError(t, c.SetFlow(EvExit, true), "EINVAL", "not a pipe")
	wantError(t, c.Write([]byte("x"), 1), "EINVAL", "stdin is not a pipe")
	c.Cancel(ReasonStop, 0, -1)
	h.waitExit(c)
}
