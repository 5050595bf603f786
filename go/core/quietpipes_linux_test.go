package core

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A child whose pipes say nothing costs no reader goroutine (only its supervise):
// its pipes wait in the quiet set. What it writes after the quiet spell still
// arrives whole, on both streams, to EOF. (Before the set: three goroutines per
// child, two of them readers parked on empty pipes.)
func TestQuietPipesHaveNoReaderUntilTheyHaveSomethingToSay(t *testing.T) {
	h := newHarness(t)
	gate := filepath.Join(t.TempDir(), "go")
	const n = 20
	g0 := runtime.NumGoroutine()
	var kids []*Child
	for i := 0; i < n; i++ {
		script := fmt.Sprintf(`while [ ! -e %q ]; do sleep 0.01; done; echo out %d; echo err %d >&2`, gate, i, i)
		kids = append(kids, h.start(&Options{Argv: []string{"sh", "-c", script}, Stdout: StdioPipe, Stderr: StdioPipe}))
	}
	if extra := runtime.NumGoroutine() - g0; extra > n+n/2 {
		t.Errorf("%d goroutines for %d children that wrote nothing yet; want about one each (their supervise)", extra, n)
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
