//go:build linux

package core

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStdinWritesAckedInOrderAndCloseGivesEOF(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("cat"), Stdin: StdioPipe, Stdout: StdioPipe})
	var want strings.Builder
	for i := 0; i < 100; i++ {
		line := fmt.Sprintf("line %d %s\n", i, strings.Repeat("x", i*97))
		want.WriteString(line)
		if err := c.Write([]byte(line), int64(1000+i)); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	c.CloseStdin()
	c.CloseStdin() // idempotent
	wantError(t, c.Write([]byte("late"), 1), "EINVAL", "stdin is closed")
	o := h.waitExit(c)
	if o.Code == nil || *o.Code != 0 {
		t.Errorf("cat did not exit 0 on EOF: %s", h.kidCopy(c).raw)
	}
	if got := string(h.stdout(c)); got != want.String() {
		t.Errorf("stdout differs from what was written at %d", firstDiff([]byte(got), []byte(want.String())))
	}
	acks := h.kidCopy(c).acks
	if len(acks) != 100 {
		t.Fatalf("%d acks, want 100", len(acks))
	}
	for i, a := range acks {
		if a.seq != int64(1000+i) || a.code != "" {
			t.Errorf("ack %d: seq %d code %q, want seq %d and success", i, a.seq, a.code, 1000+i)
		}
	}
}

func TestStdinWriteToExitedChildAcksEPIPE(t *testing.T) {
	h := newHarness(t)
	// The leader exits without reading; its grandchild (stdin on /dev/null) holds
	// stdout, so the EXIT waits on the drain while the write is made.
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "sleep"), Stdin: StdioPipe, Stdout: StdioPipe, DrainIdleMs: i64(bound.Milliseconds())})
	h.waitStdout(c, "gc=")
	gc := h.trackPrinted(c)[0]
	// Wait for the reap, not for the zombie: the main thread of a Go process turns
	// zombie while its other threads may still hold the fd table (and so stdin).
	waitReaped(t, c.Pid())
	if err := c.Write([]byte("nobody reads this\n"), 42); err != nil {
		t.Fatalf("Write: %v", err)
	}
	h.waitFor(c, "STDIN_ACK", func(k *kid) bool { return len(k.acks) > 0 })
	if a := h.kidCopy(c).acks[0]; a.seq != 42 || a.code != "EPIPE" {
		t.Errorf("ack %+v, want seq 42 code EPIPE", a)
	}
	syscall.Kill(gc, syscall.SIGKILL)
	o := h.waitExit(c)
	if o.Truncated {
		t.Errorf("outcome %s: the holder died, so the drain reached EOF", h.kidCopy(c).raw)
	}
}

func TestLargeStdinWriteDoesNotBlockCancel(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("sleep"), Stdin: StdioPipe, Stdout: StdioPipe})
	h.waitStdout(c, "ready")
	if err := c.Write(make([]byte, 64<<20), 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Write([]byte("queued behind"), 2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the writer is blocked on the full pipe
	c.Cancel(ReasonStop, 0, -1)
	o := h.waitExit(c)
	assertAllDead(t, "after cancel", c.Pid())
	if o.Reason != ReasonStop {
		t.Errorf("reason %q", o.Reason)
	}
	acks := h.kidCopy(c).acks
	if len(acks) != 2 || acks[0].seq != 1 || acks[1].seq != 2 {
		t.Fatalf("acks %+v, want seq 1 and 2, each failed", acks)
	}
	for _, a := range acks {
		if a.code != "EPIPE" {
			t.Errorf("ack %+v, want EPIPE", a)
		}
	}
}

// waitReaped waits until pid no longer exists (the core reaped it).
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(bound); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := procInfo(pid); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d not reaped after %v", pid, bound)
		}
	}
}
