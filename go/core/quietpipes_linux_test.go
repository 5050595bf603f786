package core

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A child whose pipes say nothing, and whose leader runs on, costs no goroutine:
// its pipes wait in the quiet set, and so does its leader's pidfd (without the
// helper) or its wait for the helper's exit message (onExit).
// What it writes after the quiet spell still arrives whole, on both streams, to
// EOF, and its exit is seen. (Before the set: three goroutines per child, two
// readers parked on empty pipes and the wait on the pidfd.)
func TestQuietChildrenHaveNoGoroutineUntilTheyHaveSomethingToSay(t *testing.T) {
	inEachMode(t, []string{"fallback", "helper"}, quietChildren)
}

func quietChildren(t *testing.T, h *harness, _ string) {
	gate := filepath.Join(t.TempDir(), "go")
	const n = 20
	g0 := runtime.NumGoroutine()
	var kids []*Child
	for i := 0; i < n; i++ {
		script := fmt.Sprintf(`while [ ! -e %q ]; do sleep 0.01; done; echo out %d; echo err %d >&2`, gate, i, i)
		kids = append(kids, h.start(&Options{Argv: []string{"sh", "-c", script}, Stdout: StdioPipe, Stderr: StdioPipe}))
	}
	if extra := runtime.NumGoroutine() - g0; extra > n/2 {
		t.Errorf("%d goroutines for %d children that wrote nothing yet and run on; want about none", extra, n)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, c := range kids {
		o := h.waitExit(c)
		if o.Reason != ReasonExit || o.Code == nil || *o.Code != 0 || o.Truncated {
			t.Errorf("child %d: outcome %s", i, h.kidCopy(c).raw)
		}
		if got, want := string(h.stdout(c)), fmt.Sprintf("out %d\n", i); got != want {
			t.Errorf("child %d stdout %q, want %q", i, got, want)
		}
		if got, want := string(h.stderr(c)), fmt.Sprintf("err %d\n", i); got != want {
			t.Errorf("child %d stderr %q, want %q", i, got, want)
		}
	}
}
