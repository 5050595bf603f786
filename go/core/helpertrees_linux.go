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
