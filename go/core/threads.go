package core

// Threads. The Go runtime aborts the whole process when it cannot create an OS
// thread (runtime/cgo: "pthread_create failed", then "fatal error: newosproc"):
// inside a host (Node, Electron) under RLIMIT_NPROC, that would be the host's
// death. There is no way to make that failure non-fatal, so the core makes sure
// it is never reached:
//
//   - The runtime creates a thread (an M) only when it has a P to run and no idle
//     M to run it on; it never destroys an idle M. The Ms in use at once are at
//     most the Ps (GOMAXPROCS), plus the goroutines inside a syscall (each keeps
//     its M while its P is handed to another), plus the runtime's own (sysmon, the
//     template thread).
//   - So GOMAXPROCS is capped (maxProcs), the goroutines that may sit in a slow
//     syscall at once are bounded (blocking: /proc scans, fork+exec), waits go
//     through the netpoller (pidfds) or polls, never a blocked thread per child,
//     and every M that this bound allows is created up front (ReserveThreads), at
//     load, while threads can still be had. Later work reuses those Ms.
//   - What load itself needs is checked by the host before it loads the library
//     (binding/loader.cc), and what the helper needs is checked before it is
//     started (ProbeThreads): a failure there is a typed EAGAIN, not an abort.
//
// Not covered: non-blocking syscalls on pipes (reads, writes, closes) are not
// counted; one adds an M only if it is descheduled mid-call for longer than a
// sysmon tick while other goroutines wait for a P, and the reserve's spare Ms
// absorb that. With cgo the runtime also retries a failed pthread_create for about
// 200 ms before it gives up.

import (
	"runtime"
	"sync"
	"time"
)

const (
	// maxProcs caps GOMAXPROCS: the core moves bytes between pipes and the host
	// and waits; more Ps would only mean more threads on a large machine.
	maxProcs = 4
	// blockingSlots bounds the goroutines inside slow blocking syscalls at once.
	blockingSlots = 4
	// spareThreads: the helper connection's reader and sender (each may sit in a
	// syscall), and one for a descheduled non-blocking syscall.
	spareThreads = 3
)

var reserve struct {
	once    sync.Once
	procs   int
	threads int
}

// ReserveThreads caps GOMAXPROCS and makes the runtime create, now, every thread
// the core can need at once (see the top of this file). It runs once; later calls
// return what the first one reserved. The caller must be able to afford the
// threads: if the runtime cannot create one, it aborts the process.
func ReserveThreads() (procs, threads int) {
	reserve.once.Do(func() {
		reserve.procs = capProcs(maxProcs)
		reserve.threads = reserve.procs + blockingSlots + spareThreads
		prewarm(reserve.threads)
		manageProcs(reserve.procs) // one P until there is slow work (Linux: procs_linux.go)
	})
	return reserve.procs, reserve.threads
}

// ReserveHelperThreads is ReserveThreads for the helper process: one P (it forks
// one child at a time), and an M each for the request reader, the sender, the
// orphan reaper, and a spare.
func ReserveHelperThreads() (procs, threads int) {
	reserve.once.Do(func() {
		reserve.procs = capProcs(1)
		reserve.threads = reserve.procs + HelperThreadsExtra
		prewarm(reserve.threads)
	})
	return reserve.procs, reserve.threads
}

// HelperThreadsExtra is what the helper reserves beyond its one P.
const HelperThreadsExtra = 4

// HelperThreads is how many threads the helper process has once it reserved its
// own, with a margin: what the host checks it can afford before it starts one.
// Measured: 10 (the main thread, sysmon, the template thread that LockOSThread
// starts, the 5 reserved and one more), before and during 80 spawns and cancels.
const HelperThreads = 1 + HelperThreadsExtra + 7

func capProcs(n int) int {
	if p := runtime.GOMAXPROCS(0); p < n {
		return p
	}
	runtime.GOMAXPROCS(n)
	return n
}

// prewarm makes the runtime hold at least n Ms besides the caller's: n goroutines
// each lock themselves to a thread and wait until all n are locked, so that each
// needs an M of its own; then they unlock and end, and their Ms stay idle for
// reuse. Bounded: if the runtime does not give every goroutine its own thread
// within prewarmBound, it stops waiting (the threads are created all the same,
// later).
func prewarm(n int) {
	var ready sync.WaitGroup
	ready.Add(n)
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		go func() {
			runtime.LockOSThread()
			ready.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	all := make(chan struct{})
	go func() {
		ready.Wait()
		close(all)
	}()
	select {
	case <-all:
	case <-time.After(prewarmBound):
	}
	close(release)
}

const prewarmBound = 5 * time.Second

// ProbeThreads, when set (the C ABI sets it), checks that n more threads of this
// user can exist at once right now, by creating them and letting them go. It
// returns an *Error with code EAGAIN when they cannot. Nil: no check (a plain Go
// program, where the runtime is the only way to make a thread).
var ProbeThreads func(n int) error
