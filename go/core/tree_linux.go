package core

// Finding a tree's live members on Linux: one scan of /proc, and each containment
// mechanism (see proc) adding what it attributes to the tree. Ancestry applies to
// every member found: its descendants are members too.

import (
	"os"

	"github.com/pawwork/pawwork-supervisor/go/internal/cgroup"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// tree finds the live members (see proc).
func (p *proc) tree() []procfs.Stat {
	defer blocking()()
	if out, ok := p.cgroupTree(); ok {
		return out
	}
	all, kids := procfs.LiveTable()
	w := &treeWalk{all: all, kids: kids, self: os.Getpid(), helper: p.helperPid(), in: map[int]bool{}}
	p.mu.Lock()
	seen := make(map[procfs.Key]bool, len(all))
	for pid, st := range all {
		seen[st.Key()] = true
		if p.inSession(st) || p.carriesMarker(st) {
			w.add(pid)
		}
	}
	p.forgetMarkChecks(seen)
	p.mu.Unlock()
	switch {
	case p.cgroup != "":
		p.cgroupMembers(w)
	case w.helper != 0:
		p.helperOrphans(w)
	case p.marker != nil:
		p.markedOrphans(w)
	}
	return w.out
}

// treeWalk is one search for a tree's members over one scan of /proc.
type treeWalk struct {
	all          map[int]procfs.Stat // the scan: every live process
	kids         map[int][]int       // the scan's parent links
	self, helper int                 // never members: the host, and its helper (0: none)
	in           map[int]bool
	out          []procfs.Stat
}

// add makes pid a member and, by ancestry, every descendant of it the scan saw.
func (w *treeWalk) add(pid int) {
	if w.in[pid] || pid == w.self || pid == w.helper {
		return
	}
	w.in[pid] = true
	w.out = append(w.out, w.all[pid])
	for _, k := range w.kids[pid] {
		w.add(k)
	}
}

func (p *proc) helperPid() int {
	if p.helper == nil {
		return 0
	}
	return p.helper.pid
}

// inSession: session and pgroup containment. The leader, and every process in its
// session or process group (its pid names both while it is unreaped).
func (p *proc) inSession(st procfs.Stat) bool {
	return st.Pid == p.pid || st.Sid == p.pid || st.Pgid == p.pid
}

// cgroupTree lists the live members from the tree's cgroup alone: exact, and it costs
// a stat per member instead of a scan of every process on the machine (which a fork
// storm elsewhere makes slow). Not ok when there is no cgroup or it cannot be read.
func (p *proc) cgroupTree() ([]procfs.Stat, bool) {
	if p.cgroup == "" {
		return nil, false
	}
	pids, err := cgroup.Procs(p.cgroup)
	if err != nil {
		return nil, false
	}
	var out []procfs.Stat
	for _, pid := range pids {
		if st, ok := procfs.ReadStat(pid); ok && !st.Dead() {
			out = append(out, st)
		}
	}
	return out, true
}

// cgroupMembers: cgroup containment within a scan (when cgroupTree could not read
// the cgroup at first). Exact: whatever the tree did, its processes are in its
// cgroup (unless a privileged one moved itself out; the other mechanisms still
// apply to those).
func (p *proc) cgroupMembers(w *treeWalk) {
	pids, err := cgroup.Procs(p.cgroup)
	if err != nil {
		return
	}
	for _, pid := range pids {
		if _, ok := w.all[pid]; ok {
			w.add(pid)
		}
	}
}
