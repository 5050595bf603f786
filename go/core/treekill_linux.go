package core

// Signalling a tree on Linux: the ladder's signals, the freeze before SIGKILL, and
// what a cancelled tree still holds until it is gone.

import (
	"fmt"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/cgroup"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// signalTree sends sig to the group at once (atomic for its members; only while the
// leader is unreaped, so the group id cannot be someone else's), then to every other
// member one by one through a pidfd, each confirmed to be the same process after the
// pidfd pinned it. Every member signalled is remembered: with the helper, a killed
// member counts as gone only once the helper reaped it (see unreaped).
func (p *proc) signalTree(sig int) {
	p.mu.Lock()
	p.cancelled = true
	if !p.reaped {
		unix.Kill(-p.pid, unix.Signal(sig))
	}
	p.mu.Unlock()
	if sig == sigKILL && p.cgroup != "" && !p.isReaped() {
		// Every process in the tree's cgroup at once, forks in flight included.
		cgroup.Kill(p.cgroup)
	}
	for _, st := range p.tree() {
		p.remember(st)
		procfs.Signal(st, unix.Signal(sig))
	}
}

// remember records a member a cancel signalled (bounded by the tree's size: entries
// of processes that are gone are dropped by unreaped).
func (p *proc) remember(st procfs.Stat) {
	p.mu.Lock()
	if p.signalled == nil {
		p.signalled = map[procfs.Key]bool{}
	}
	p.signalled[st.Key()] = true
	p.mu.Unlock()
}

// freezeRounds and freezeBound bound the scans of one freeze (it counts against
// the confirm bound too).
const (
	freezeRounds = 100
	freezeBound  = 2 * time.Second
)

// freezeTree stops every member so that none can fork between the last scan and
// SIGKILL (SIGKILL still ends a stopped process). One scan is not enough without a
// cgroup: a member that forks and exits between the scan's listing of /proc and its
// read of the member's stat hands the tree on to a process the scan never saw (a
// re-forker that also leaves the session and group is found only by the marker or
// as the helper's orphan). So the scan is repeated, every new member stopped (a
// stop pending on a process makes its fork fail), until two consecutive scans find
// no member not seen before. A member that ended by itself before it could be
// stopped, and whose children nothing would tie to the tree once they left the
// session (see orphansUntraceable), may have handed the tree on: that is noted for
// outcome.errors, as is the bound firing.
func (p *proc) freezeTree() {
	p.mu.Lock()
	if !p.reaped {
		unix.Kill(-p.pid, unix.SIGSTOP)
	}
	p.mu.Unlock()
	if p.cgroup != "" {
		// cgroup.kill follows, atomic against forks: one pass is enough.
		for _, st := range p.tree() {
			p.remember(st)
			procfs.Signal(st, unix.SIGSTOP)
		}
		return
	}
	known := map[procfs.Key]bool{}
	var slipped []int
	quiet := 0
	deadline := time.Now().Add(freezeBound)
	for round := 0; round < freezeRounds && time.Now().Before(deadline); round++ {
		fresh := 0
		for _, st := range p.tree() {
			key := st.Key()
			if known[key] {
				continue
			}
			known[key] = true
			fresh++
			p.remember(st)
			if !procfs.Signal(st, unix.SIGSTOP) && p.orphansUntraceable(key) {
				slipped = append(slipped, st.Pid)
			}
		}
		if fresh > 0 {
			quiet = 0
			continue
		}
		if quiet++; quiet == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if quiet < 2 {
		p.note(fmt.Sprintf("freeze: new members still appeared after %d scans of /proc or %v (its bounds); one may have escaped the kill", freezeRounds, freezeBound))
	}
	if len(slipped) > 0 {
		p.note(fmt.Sprintf("freeze: members %v ended before they could be stopped and carried no marker; a process one of them started just then may have escaped the kill", slipped))
	}
}

// orphansUntraceable: what key's process started just before it ended would be
// found by nothing once it left the session: the process is known to lack the
// marker (its children inherit the environment), and no helper adopts its orphans
// for this tree alone (no helper, or another live tree of the host).
func (p *proc) orphansUntraceable(key procfs.Key) bool {
	p.mu.Lock()
	m := p.marked[key]
	p.mu.Unlock()
	if !m.sure || m.has {
		return false
	}
	if p.helper == nil {
		return true
	}
	helperTrees.Lock()
	defer helperTrees.Unlock()
	return len(helperTrees.trees) > 1
}

func (p *proc) note(s string) {
	p.mu.Lock()
	p.notes = append(p.notes, s)
	p.mu.Unlock()
}

// takeNotes returns, once, what the cancel could not make sure of.
func (p *proc) takeNotes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.notes
	p.notes = nil
	return n
}

// members lists the live (non-zombie) processes of the tree, leader included while
// it runs.
func (p *proc) members() []int {
	var out []int
	for _, st := range p.tree() {
		out = append(out, st.Pid)
	}
	return out
}

// unreaped lists the tree's zombies waiting for the helper to reap them (the leader
// aside: reap() is its step). A cancelled tree is gone only once they are reaped:
// until then /proc still shows them, and a caller checking the pid finds it. They
// are the members a cancel signalled, and orphans the helper
// adopted that only this tree could have started (a member the scans never saw
// alive, say one that forked and was killed between two scans). Without the helper
// a member's orphans go to pid 1, which reaps when it will: those count as gone.
func (p *proc) unreaped() []int {
	if p.helper == nil {
		return nil
	}
	helperPid := p.helper.pid
	p.mu.Lock()
	if !p.cancelled {
		p.mu.Unlock()
		return nil // nothing was killed
	}
	keys := make([]procfs.Key, 0, len(p.signalled))
	for key := range p.signalled {
		keys = append(keys, key)
	}
	p.mu.Unlock()
	v := procViews.get() // the helper's children, read once for every tree asking now
	defer blocking()()   // reads /proc: within the thread bound (threads.go)
	var out []int
	listed := map[int]bool{}
	signalledPids := make(map[int]bool, len(keys))
	for _, key := range keys {
		signalledPids[key.Pid] = true
	}
	for _, key := range keys {
		st, ok := procfs.ReadStat(key.Pid)
		if !ok || st.Start != key.Start {
			p.mu.Lock()
			delete(p.signalled, key)
			p.mu.Unlock()
			continue
		}
		// A zombie under the helper, or under another member (it goes to the helper
		// once that one is reaped), waits for its reaping; a killed member that is
		// not a zombie yet is still exiting (it left its cgroup's procs list before
		// it became one, so the cgroup says empty): none of them is gone. Only a
		// zombie of a process outside the tree (pid 1) is not ours to wait for.
		if key.Pid != p.pid && (!st.Dead() || st.PPid == helperPid || signalledPids[st.PPid]) {
			out = append(out, key.Pid)
			listed[key.Pid] = true
		}
	}
	kids, stat := v.kids[helperPid], func(k int) (procfs.Stat, bool) { st, ok := v.stats[k]; return st, ok }
	if !v.full && !v.landing[helperPid] {
		kids, stat = procfs.ChildrenOf(helperPid), procfs.ReadStat // a helper no listed tree uses any more
	}
	for _, k := range kids {
		if k == p.pid || listed[k] {
			continue
		}
		st, ok := stat(k)
		if !ok || !st.Dead() || st.Start < p.start || p.orphanHasOtherOwner(st) {
			continue
		}
		out = append(out, k)
	}
	return out
}
