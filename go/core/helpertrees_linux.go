package core

// Helper (subreaper) containment: the helper adopts every orphan of every tree it
// started; an orphan is this tree's when no other tree of the host could have
// started it.

import (
	"sync"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// helperTrees holds the trees started through the helper and not yet reaped, for
// the attribution of orphans; letGo, the leftovers let go at natural exit.
var helperTrees = struct {
	sync.Mutex
	trees    map[*proc]bool
	letGo    map[procfs.Key]bool
	spawning map[*uint64]bool // boot-time ticks at which each spawn through the helper now in flight began
}{trees: map[*proc]bool{}, letGo: map[procfs.Key]bool{}, spawning: map[*uint64]bool{}}

// helperOrphans: orphans of the helper that nothing else ties to a tree (a
// double-forked daemon that cleared its environment and left the session): ours
// only if no other live tree of this host could have started them. Besides the
// scan's, a fresh look at the helper's children: the scan's listing of /proc is
// milliseconds old by now, and a member that forked and exited since handed the
// tree on to a process the listing missed — the helper's child now.
func (p *proc) helperOrphans(w *treeWalk) {
	for _, k := range w.kids[w.helper] {
		st := w.all[k]
		if w.in[k] || st.Start < p.start || p.orphanHasOtherOwner(st) {
			continue
		}
		w.add(k)
	}
	for _, k := range procfs.ChildrenOf(w.helper) {
		if w.in[k] {
			continue
		}
		st, ok := w.all[k]
		if !ok {
			if st, ok = procfs.ReadStat(k); !ok || st.Dead() {
				continue
			}
			w.all[k] = st
		}
		if st.Start < p.start || p.orphanHasOtherOwner(st) {
			continue
		}
		w.add(k)
	}
}

// orphanHasOtherOwner: st is a leader, a leftover let go, maybe a leader the
// helper is starting right now, or another live tree started no later than it (so
// could be its parent's owner).
func (p *proc) orphanHasOtherOwner(st procfs.Stat) bool {
	helperTrees.Lock()
	defer helperTrees.Unlock()
	if helperTrees.letGo[st.Key()] {
		return true
	}
	for since := range helperTrees.spawning {
		if st.Start >= *since {
			return true // maybe a leader being started
		}
	}
	for q := range helperTrees.trees {
		if q.pid == st.Pid {
			return true
		}
		if q != p && q.helper == p.helper && q.start <= st.Start {
			return true
		}
	}
	return false
}
