package core

import (
	"runtime"
	"testing"
	"time"
)

// managedProcs reserves the threads and returns the Ps the core manages, and a wait
// for GOMAXPROCS to be a given number (bounded); it skips a test where there is
// nothing to manage.
func managedProcs(t *testing.T) (int, func(want int, why string)) {
	t.Helper()
	ReserveThreads()
	procs.mu.Lock()
	max := procs.max
	procs.mu.Unlock()
	if max < 2 {
		t.Skipf("%d P reserved (GOMAXPROCS or the CPUs allow no more): nothing to manage", max)
	}
	return max, func(want int, why string) {
		t.Helper()
		deadline := time.Now().Add(bound)
		for runtime.GOMAXPROCS(0) != want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("%s: GOMAXPROCS %d after %v, want %d", why, got, bound, want)
		}
	}
}

// The core keeps one P while nothing slow is under way, takes every reserved P at
// once when slow work starts (a blocking slot, a cancel's ladder, a settling
// child), keeps them while any of it lasts, and gives them back procsIdle after
// the last of it.
func TestCoreKeepsOnePUntilSlowWork(t *testing.T) {
	max, waitProcs := managedProcs(t)
	waitProcs(1, "idle")

	release := blocking()
	if got := runtime.GOMAXPROCS(0); got != max {
		t.Errorf("a blocking slot held: GOMAXPROCS %d, want %d at once", got, max)
	}
	busyBegin()
	release()
	time.Sleep(3 * procsIdle)
	if got := runtime.GOMAXPROCS(0); got != max {
		t.Errorf("slow work still under way %v after other work ended: GOMAXPROCS %d, want %d", 3*procsIdle, got, max)
	}
	busyEnd()
	waitProcs(1, "after the last slow work")
}

// A write to a child's stdin takes every P too (a conversation: its answer's
// hand-offs must not queue for one P); output alone does not.
func TestAWriteToStdinTakesEveryP(t *testing.T) {
	max, waitProcs := managedProcs(t)
	h := newHarness(t)
	c := h.start(&Options{Argv: []string{"cat"}, Stdin: StdioPipe, Stdout: StdioPipe})
	waitProcs(1, "a child that only runs")
	if err := c.Write([]byte("hello\n"), 1); err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != max {
		t.Errorf("right after a write: GOMAXPROCS %d, want %d", got, max)
	}
	waitProcs(1, "after the write")
	c.CloseStdin()
	h.waitExit(c)
}
