package core

import (
	"math"
	"os"
	"slices"
)

// The process table: the parent links of every process, read from the OS (each
// platform's ptable_*.go supplies it), and the one walk over them that Descendants
// and SignalTree share.

// procTable is one snapshot of the parent links.
type procTable struct {
	kids map[int][]int // each pid's children
	// follow, when set, says whether kid is really parent's child (Windows: a
	// "child" created before its parent holds a re-used parent id).
	follow func(parent, kid int) bool
}

// below lists every process under roots, breadth-first (children first), each
// once; the roots themselves are not listed.
func (t procTable) below(roots ...int) []int {
	seen := make(map[int]bool, len(roots))
	for _, r := range roots {
		seen[r] = true
	}
	var out []int
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		for _, k := range t.kids[parent] {
			if seen[k] || (t.follow != nil && !t.follow(parent, k)) {
				continue
			}
			seen[k] = true
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

// Descendants lists every live descendant of pid, children first (not pid itself).
// It works for any pid, supervised or not.
func Descendants(pid int) []int {
	return descendantsTable(pid).below(pid)
}

// ProcState is what ProcessState found (PWS_PROC_*).
type ProcState int

const (
	ProcGone   ProcState = 0 // no such process (or it was reaped)
	ProcAlive  ProcState = 1 // running, stopped or asleep: anything but ended
	ProcZombie ProcState = 2 // ended, waiting for its parent to reap it
)

// maxPid bounds the pids the exported functions take: pid_t is 32 bits.
const maxPid = math.MaxInt32

// ProcessState says whether pid is a live process. A process of another user
// counts as alive even where the OS hides it from us. An error for a pid that
// names no single process (< 1, or beyond any pid).
func ProcessState(pid int) (ProcState, error) {
	if pid < 1 || pid > maxPid {
		return ProcGone, usage("pid %d is not a process id", pid)
	}
	return processState(pid), nil
}

// SignalTree sends sig (0: only check) to pid's process group if pid leads one,
// to pid, and to every descendant the process table shows, once each, and lists
// the processes it reached. Never init or the host: pid 1 and the host's own pid
// are refused, the host (and its group) is never signalled, and neither is a
// process the platform cannot confirm is the one the table listed (Linux: pidfds
// and start times). For trees that are not supervised; a supervised child's tree
// is Child.Signal's.
func SignalTree(pid, sig int) ([]int, error) {
	if pid <= 1 || pid > maxPid {
		return nil, usage("pid %d: not a process whose tree may be signalled", pid)
	}
	if pid == os.Getpid() {
		return nil, usage("pid %d is the host itself", pid)
	}
	if sig < 0 || sig > MaxSignal {
		return nil, usage("signal %d is out of range", sig)
	}
	return signalTree(pid, sig), nil
}

// mayTouch reports whether a process the walk found may be signalled: never init,
// never the host.
func mayTouch(pid int) bool { return pid > 1 && pid != os.Getpid() }

// signalTable signals pid's tree as one read of the table shows it: first the
// group at once (killGroup, when group, the members of the group pid leads, is
// not empty), then pid and each process below it through signal, never init or
// the host. It returns the processes reached, in that order (the group's others
// last), each once.
func signalTable(pid int, t procTable, group []int, killGroup func() bool, signal func(pid int) bool) []int {
	groupReached := len(group) > 0 && killGroup()
	var out []int
	seen := map[int]bool{}
	for _, m := range append([]int{pid}, t.below(pid)...) {
		if mayTouch(m) && signal(m) && !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	if groupReached {
		slices.Sort(group)
		for _, m := range group {
			if mayTouch(m) && !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}
