package core

// Signalling a tree on Linux: the ladder's signals, the freeze before SIGKILL, and
// what a cancelled tree still holds until it is gone.

import (
	"fmt"
	"slices"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/cgroup"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// signalTree sends sig to the group at once (atomic for its members; only while the
// leader is unreaped, so the group id cannot be someone else's), then to every other
// member one by one through a pidfd, each confirmed to be the same process after the
// pidfd pinned it. Every member signalled is remembered: with a cgroup, a killed
// member counts as gone only once it has ended (see remaining).
func (p *proc) signalTree(sig int) {
	p.signalGroup(sig)
	p.signalMembers(sig)
}

// signalGroup is signalTree's first, cheap step: the leader's group, and with
// SIGKILL the tree's cgroup.
func (p *proc) signalGroup(sig int) {
	p.mu.Lock()
	p.cancelled = true
	p.groupSent = 0
	if p.groupOursLocked() && p.killGroupLocked(unix.Signal(sig)) {
		p.groupSent = sig
	}
	p.mu.Unlock()
	if sig == sigKILL && p.cgroup != "" && !p.isReaped() {
		// Every process in the tree's cgroup at once, forks in flight included.
		cgroup.Kill(p.cgroup)
	}
}

// groupOursLocked reports whether the leader's pid, and so its group id, is still
// reserved for us (p.mu held): it is unreaped and its parent is the host, or the
// helper, alive. Once the helper died the leader is pid 1's, which reaps it when it
// ends, and the number may be re-used: the group is then signalled only member by
// member, each pinned by a pidfd and checked against its start time.
func (p *proc) groupOursLocked() bool {
	return !p.reaped && (p.helper == nil || !p.helper.isDead())
}

// killGroupLocked signals the leader's group (p.mu held, groupOursLocked), and says
// whether the signal was sent. With autoReap the helper may reap the leader at any
// moment after its exit, without us: the group is then signalled through a pidfd
// pinned to the leader, which reaches nothing once it is reaped; by its number only
// while our reap is what frees it.
func (p *proc) killGroupLocked(sig unix.Signal) bool {
	if p.autoReap {
		return procfs.SignalGroup(procfs.Stat{Pid: p.pid, Start: p.start}, sig)
	}
	return unix.Kill(-p.pid, sig) == nil
}

func (p *proc) groupOurs() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.groupOursLocked()
}

// signalMembers is signalTree's second step: every member found now that the group's
// signal did not reach (see signalFound).
func (p *proc) signalMembers(sig int) { p.signalFound(sig, p.tree()) }

// signalFound signals members one by one, each pinned by a pidfd and checked against
// its start time, except those in the leader's group and session when signalGroup
// sent sig to the group (groupSent): such a member was in the group then and had it
// (a process joins a group only from within its session, the leader's, and the
// kernel gives a group's signal to a child forked meanwhile), or was forked since by
// a member that outlived the signal (a TERM handler's cleanup, which the group
// signal leaves alone as killpg does; the ladder's SIGKILL reaches it if it stays).
// A tree of a hundred in one group cost a hundred pidfd opens, stat reads and
// signals more per step, and a signal meant once (signalTree) reached each of them
// twice. Every member is remembered either way.
func (p *proc) signalFound(sig int, members []procfs.Stat) {
	p.mu.Lock()
	grouped := p.groupSent == sig && p.groupOursLocked()
	p.mu.Unlock()
	for _, st := range members {
		p.remember(st)
		if grouped && p.hadGroupSignal(st) {
			continue
		}
		signalMember(st, unix.Signal(sig))
	}
}

// hadGroupSignal: st is in the leader's group and session (the leader itself only if
// it is the process started).
func (p *proc) hadGroupSignal(st procfs.Stat) bool {
	if st.Pgid != p.pid || st.Sid != p.pid {
		return false
	}
	return st.Pid != p.pid || (p.start != 0 && st.Start == p.start)
}

// signalMember signals one member (a variable for the tests that count them).
var signalMember = procfs.Signal

// remember records a member a cancel signalled (bounded by the tree's size: entries
// of processes that are gone are dropped by remaining).
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
	if p.groupOursLocked() {
		p.killGroupLocked(unix.SIGSTOP)
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

// remaining lists what keeps the tree from being gone, from one look at it: its
// live members, and, with a cgroup, the members a cancel signalled that have not
// ended yet (a process leaves its cgroup's procs list when it starts to exit, before
// it is a zombie: the cgroup says empty while it still runs its exit, and may still
// hold a pipe). A zombie is gone: the reap that follows (reapViaHelper) has the
// helper reap every zombie it holds before it answers, and the outcome waits for
// that answer, so the tree's zombies are out of /proc before the outcome settles.
// Without the helper a member's orphans go to pid 1, which reaps when it will.
func (p *proc) remaining() []int {
	out := p.members()
	if p.cgroup == "" {
		return out // a walk sees an exiting member as live
	}
	p.mu.Lock()
	keys := make([]procfs.Key, 0, len(p.signalled))
	for key := range p.signalled {
		keys = append(keys, key)
	}
	p.mu.Unlock()
	for _, key := range keys {
		if key.Pid == p.pid && key.Start == p.start && p.ended.Load() {
			continue // the leader: its end is known, a zombie until reap
		}
		st, ok := procfs.ReadStat(key.Pid)
		if !ok || st.Start != key.Start {
			p.mu.Lock()
			delete(p.signalled, key)
			p.mu.Unlock()
			continue
		}
		if !st.Dead() && !slices.Contains(out, key.Pid) {
			out = append(out, key.Pid)
		}
	}
	return out
}
