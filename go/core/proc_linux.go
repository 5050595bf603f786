package core

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
)

// proc is a started leader on Linux, and what finds its tree. The tree is held by
// several containment mechanisms, each in a file of its own, each named in
// mechanisms():
//
//	cgroup     the tree's own cgroup v2 directory, made by the helper: exact
//	           (tree_linux.go)
//	session,   every process in the leader's session or process group
//	pgroup     (tree_linux.go)
//	ancestry   every descendant of a member, from the kernel's children lists
//	           (tree_linux.go; a walk of all of /proc, shared, only where the
//	           kernel has no such lists); a member stays one where it lands
//	marker     every process of the host's user carrying the tree's marker in the
//	           environment it was started with, when there is no cgroup
//	           (marker_linux.go)
//	helper     the helper is a child subreaper: the orphans that re-parent to it and
//	           can only be this tree's (helpertrees_linux.go); it also kills the
//	           tree when the host dies
//	pidfd      the leader, and every member signalled, through a pidfd, each
//	           re-checked to be the same process (same start time) after the pidfd
//	           pinned it, so that a pid re-used after a member died is never hit
//
// The leader's lifecycle (start, wait, reap) is in lifecycle_linux.go, the
// signalling of its tree (ladder, freeze, confirmation) in treekill_linux.go; the
// /proc reader is go/internal/procfs.
type proc struct {
	pid    int
	pidf   *os.File // pollable pidfd; nil if the kernel has none
	start  uint64   // the leader's start time, in clock ticks since boot
	marker []byte   // "PAWWORK_SUPERVISOR_TREE=<random token>\x00", inherited by the tree; nil when the tree has none (it has a cgroup)

	// With the helper: the leader is the helper's child; it reports the exit and
	// reaps on our request.
	helper *helperConn
	hid    int64
	exit   chan wire.Msg
	cgroup string // the tree's own cgroup v2 directory; "" when none
	// cgEmpty: the cgroup was read empty once, and so it stays: only the helper's
	// spawn puts a process in (the leader), and a cgroup with no live process has
	// none to fork one. Later looks need no read of cgroup.events (a kernfs path
	// walk; three per cancelled tree were a sixth of a mass cancel's CPU).
	cgEmpty atomic.Bool
	// autoReap: the helper reaps the leader at its exit when the tree's cgroup is
	// empty (one round trip fewer per tree); the leader's group is then signalled
	// only through a pidfd pinned to the leader (procfs.SignalGroup), never by its
	// number. helperReaped: it did (the exit said so).
	autoReap     bool
	helperReaped atomic.Bool

	ended atomic.Bool // wait returned: the leader has ended

	mu        sync.Mutex
	reaped    bool
	marked    map[procfs.Key]markCheck // environ checks already made
	known     map[procfs.Key]bool      // the members the last walk found: still members wherever they land
	signalled map[procfs.Key]bool      // members a cancel signalled: gone only once reaped
	cancelled bool                     // the tree was signalled: its zombies count until reaped
	groupSent int                      // the signal the last signalGroup sent to the leader's group (0: none was sent)
	notes     []string                 // what the cancel could not make sure of, for outcome.errors
}

// mechanisms lists the containment mechanisms that hold this tree.
func (p *proc) mechanisms() []string {
	var m []string
	switch {
	case p.cgroup != "":
		m = append(m, "helper", "cgroup")
	case p.helper != nil:
		m = append(m, "helper")
	}
	m = append(m, "session", "pgroup", "pidfd", "ancestry")
	if p.marker != nil {
		m = append(m, "marker")
	}
	return m
}

// containment is mechanisms() as the outcome reports it.
func (p *proc) containment() string { return strings.Join(p.mechanisms(), "+") }

// letGo lets leftovers go at natural exit: the helper will not kill them when the
// host dies, and they are never attributed to another tree.
func (p *proc) letGo(pids []int) {
	if p.helper == nil || len(pids) == 0 {
		return
	}
	helperTrees.Lock()
	for _, pid := range pids {
		if st, ok := procfs.ReadStat(pid); ok {
			helperTrees.letGo[st.Key()] = true
		}
	}
	helperTrees.Unlock()
	p.helper.send(wire.Msg{Op: "letgo", ID: p.hid, Pids: pids}, nil)
}
