package core

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// A child whose pipes say nothing, and whose leader runs on, costs no goroutine:
// its pipes wait in the quiet set, and so does its leader's pidfd (without the
// helper) or its wait for the helper's exit message (onExit); its stdin's writer
// runs only while a write is queued. What it is fed arrives, what it writes after
// the quiet spell still arrives whole, on both streams, to EOF, and its exit is
// seen. (Before the set: three goroutines per child, two readers parked on empty
// pipes and the wait on the pidfd; and a fourth, the stdin writer, parked between
// writes.)
func TestQuietChildrenHaveNoGoroutineUntilTheyHaveSomethingToSay(t *testing.T) {
	inEachMode(t, []string{"fallback", "helper"}, quietChildren)
}

func quietChildren(t *testing.T, h *harness, _ string) {
	gate := filepath.Join(t.TempDir(), "go")
	const n = 20
	g0 := runtime.NumGoroutine()
	quiet := func(when string) {
		t.Helper()
		if extra := runtime.NumGoroutine() - g0; extra > n/2 {
			t.Errorf("%s: %d goroutines for %d children that run on and write nothing yet; want about none", when, extra, n)
		}
	}
	var kids []*Child
	for i := 0; i < n; i++ {
		script := fmt.Sprintf(`read line; while [ ! -e %q ]; do sleep 0.01; done; echo "out %d $line"; echo err %d >&2`, gate, i, i)
		kids = append(kids, h.start(&Options{Argv: []string{"sh", "-c", script}, Stdin: StdioPipe, Stdout: StdioPipe, Stderr: StdioPipe}))
	}
	quiet("started")
	for i, c := range kids {
		if err := c.Write([]byte(fmt.Sprintf("fed %d\n", i)), 1); err != nil {
			t.Fatalf("child %d: write: %v", i, err)
		}
	}
	for i, c := range kids {
		h.waitFor(c, fmt.Sprintf("child %d: the ack of its write", i), func(k *kid) bool { return len(k.acks) == 1 })
		if a := h.kidCopy(c).acks[0]; a.seq != 1 || a.code != "" {
			t.Errorf("child %d: ack %+v, want seq 1 and no error", i, a)
		}
	}
	// The writers end once their write is done; give them a moment to return.
	deadline := time.Now().Add(bound)
	for runtime.NumGoroutine()-g0 > n/2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	quiet("fed")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, c := range kids {
		o := h.waitExit(c)
		if o.Reason != ReasonExit || o.Code == nil || *o.Code != 0 || o.Truncated {
			t.Errorf("child %d: outcome %s", i, h.kidCopy(c).raw)
		}
		if got, want := string(h.stdout(c)), fmt.Sprintf("out %d fed %d\n", i, i); got != want {
			t.Errorf("child %d stdout %q, want %q", i, got, want)
		}
		if got, want := string(h.stderr(c)), fmt.Sprintf("err %d\n", i); got != want {
			t.Errorf("child %d stderr %q, want %q", i, got, want)
		}
	}
}
