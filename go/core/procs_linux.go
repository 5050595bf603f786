package core

// One P while the core only moves bytes; every reserved P while it works.
//
// With two Ps, each hand-off on the output path (the pipe's reader goroutine
// readying the pump's, which is locked to the pump's thread, and the pump's
// readying the next reader) found an idle P and woke a thread to spin for work
// that one thread could have run: measured on 2 CPUs, 1 GiB through one stream
// while two busy loops ran in other sessions (other scheduling groups, as other
// applications are) cost 300K context switches and 2.9-3.9 s of host CPU at
// 223-333 MB/s; with one P, 1.6-2.1 s at 372-455 MB/s; quiet, 1.33-1.39 s instead
// of 1.53-1.64 s at the same rate. One P alone made a thousand cancels at once
// take 1.8-2.3x child_process's time instead of 1.0-1.2x (their /proc reads and
// the host's calls into the core queued for the one P). So the core keeps one P
// and takes every reserved P while slow work is under way (a blocking slot held:
// /proc reads, fork+exec; a cancel's ladder; a child's settling) or a conversation
// goes on (a write to a child's stdin: one P made a 100-byte round trip through cat
// take 246-261 µs at the median instead of 118-177), giving them back procsIdle
// after the last of it: a burst of spawns or cancels and a language server's
// requests run as before, a stream of output on one P.

import (
	"runtime"
	"sync"
	"time"
)

// procsIdle: how long after the last slow work the extra Ps are given back (each
// change of GOMAXPROCS stops the world for a moment: not once per spawn).
const procsIdle = 100 * time.Millisecond

var procs struct {
	mu    sync.Mutex
	max   int // the reserved Ps (ReserveThreads); 0: not managed
	busy  int // slow work under way
	high  bool
	lower *time.Timer
}

// manageProcs starts the management with max reserved Ps: one from now on.
func manageProcs(max int) {
	if max <= 1 {
		return
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	procs.max = max
	procs.high = true
	procs.lower = time.AfterFunc(procsIdle, lowerProcs)
}

// busyBegin: slow work starts; every reserved P is in use while it lasts.
func busyBegin() {
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.max == 0 {
		return
	}
	procs.busy++
	if !procs.high {
		runtime.GOMAXPROCS(procs.max)
		procs.high = true
	}
}

// busyEnd: slow work ended; the extra Ps go procsIdle after the last of it.
func busyEnd() {
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.max == 0 {
		return
	}
	if procs.busy--; procs.busy == 0 && procs.high {
		procs.lower.Reset(procsIdle)
	}
}

func lowerProcs() {
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.busy == 0 && procs.high {
		runtime.GOMAXPROCS(1)
		procs.high = false
	}
}
