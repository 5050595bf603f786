package core

import (
	"runtime"
	"testing"
	"time"
)

// The core keeps one P while nothing slow is under way, takes every reserved P at
// once when slow work starts (a blocking slot, a cancel's ladder, a settling
// child), keeps them while any of it lasts, and gives them back procsIdle after
// the last of it.
func TestCoreKeepsOnePUntilSlowWork(t *testing.T) {
	ReserveThreads()
	procs.mu.Lock()
	max := procs.max
	procs.mu.Unlock()
	if max < 2 {
		t.Skipf("%d P reserved (GOMAXPROCS or the CPUs allow no more): nothing to manage", max)
	}
	waitProcs := func(want int, why string) {
		t.Helper()
		deadline := time.Now().Add(bound)
		for runtime.GOMAXPROCS(0) != want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := runtime.GOMAXPROCS(0); got != want {
			t.Fatalf("%s: GOMAXPROCS %d after %v, want %d", why, got, bound, want)
		}
	}
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
