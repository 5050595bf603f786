package core

// Finding a tree's live members on Linux. With a cgroup, its procs list. Without
// one, the candidates only — never all of /proc per tree: the leader, the orphans
// that landed on a process an orphan of the tree can re-parent to (the helper, the
// host and its ancestors up to pid 1) that a mechanism ties to the tree (session,
// pgroup, marker, the helper's orphan rule), and, by ancestry, every descendant of
// a member, read from the kernel's children lists. The landing points' children
// are read once per round for every tree asking at that moment (procViews): a
// thousand trees cancelled at once cost one such read per round, not a thousand.
// Only a kernel without children lists (CONFIG_PROC_CHILDREN) makes that read a
// walk of all of /proc — still one per round, shared.

import (
	"errors"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pawwork/pawwork-supervisor/go/internal/batchq"
	"github.com/pawwork/pawwork-supervisor/go/internal/cgroup"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// tree finds the live members (see proc).
func (p *proc) tree() []procfs.Stat {
	var out []procfs.Stat
	treesOf([]*proc{p}, func(_ int, members []procfs.Stat) { out = members })
	return out
}

// treesOf finds the live members of several trees at once: each tree with a cgroup
// from its cgroup, the others with one view of the landing points per pass shared
// by all of them (a batch of cancels signalled together costs one view read, not
// one per tree). found gets each tree's members (by its index in ps) as soon as
// they are known.
func treesOf(ps []*proc, found func(i int, members []procfs.Stat)) {
	var walks []*treeWalk
	var owners []*proc
	for i, p := range ps {
		if members, ok := p.cgroupTree(); ok {
			found(i, members)
			continue
		}
		walks = append(walks, &treeWalk{self: os.Getpid(), helper: p.helperPid(), leader: p.pid, in: map[int]bool{}, slot: i})
		owners = append(owners, p)
	}
	// A member that ends while the walk reads its children hands them to a
	// landing point after the view was read: the walk then looks again, with a
	// view read after that (bounded; the callers' repeated rounds do the rest).
	for pass := 0; pass < 3 && len(walks) > 0; pass++ {
		// The leader alive before the view is read and ended by the walk: its
		// children may have landed after the view too.
		for k, w := range walks {
			p := owners[k]
			if p.ended.Load() {
				w.leaderWasAlive = false // and no need to look
				continue
			}
			pre, ok := procfs.ReadStat(p.pid)
			w.leaderWasAlive = ok && !pre.Dead() && (p.start == 0 || pre.Start == p.start)
		}
		v := procViews.get() // before taking a slot: the shared read takes one itself
		var again []*treeWalk
		var againOwners []*proc
		for k, w := range walks {
			p := owners[k]
			w.view, w.moved = v, false
			p.walk(w)
			if w.moved && pass < 2 {
				again = append(again, w)
				againOwners = append(againOwners, p)
				continue
			}
			found(w.slot, p.settleWalk(w))
		}
		walks, owners = again, againOwners
	}
}

// settleWalk records what a finished walk found and returns its members. A member
// found by ancestry stays one once its parent died and it landed elsewhere, even
// when nothing else would tie it to the tree (an exiting process's environment can
// no longer be read; a daemon cleared its own).
func (p *proc) settleWalk(w *treeWalk) []procfs.Stat {
	known := make(map[procfs.Key]bool, len(w.out))
	for _, st := range w.out {
		known[st.Key()] = true
	}
	p.mu.Lock()
	p.known = known
	p.mu.Unlock()
	return w.out
}

// walk adds to w the leader, the orphans of w.view that a mechanism ties to the
// tree, and every live descendant of each.
func (p *proc) walk(w *treeWalk) {
	defer blocking()()
	v := w.view
	if p.ended.Load() {
		// Its end is known (wait returned: a thread group's end, every thread of
		// it gone): not a member, and its children were handed on to a landing
		// point when it ended. Its pid needs no reads (and, once it is reaped, may
		// be another's).
		w.in[p.pid] = true
		if w.leaderWasAlive && !v.full {
			w.moved = true // it ended since the view: its children may have landed after it
		}
	} else if st, ok := w.stat(p.pid); ok && (p.start == 0 || st.Start == p.start) {
		// A leader that is a zombie is not a member, but its children are while
		// any of its threads lives on (a thread group's leader ends first).
		w.add(st)
		if !v.full {
			if now, ok := procfs.ReadStat(p.pid); (w.leaderWasAlive && st.Dead()) || !ok || now.Dead() != st.Dead() {
				w.moved = true // ended since the view, or while its children were read
			}
		}
	} else if w.leaderWasAlive && !v.full {
		w.moved = true
	}
	// Orphans that landed where an orphan of this tree can land: members when the
	// session, the group or the marker says so (read under p.mu: the marker checks
	// are kept there).
	var tied, helperOrphans, unsure []procfs.Stat
	p.mu.Lock()
	seen := map[procfs.Key]bool{}
	for lp, kids := range v.kids {
		for _, k := range kids {
			st := v.stats[k]
			if st.Dead() || st.Start < p.start || w.in[k] {
				continue
			}
			seen[st.Key()] = true
			switch {
			case p.inSession(st) || p.known[st.Key()] || p.carriesMarker(st):
				tied = append(tied, st)
			case lp == w.helper && w.helper != 0 && p.cgroup == "":
				helperOrphans = append(helperOrphans, st)
			case p.marker != nil && !p.marked[st.Key()].sure:
				unsure = append(unsure, st)
			}
		}
	}
	p.forgetMarkChecks(seen)
	p.mu.Unlock()
	for _, st := range tied {
		w.add(st)
	}
	// A candidate whose environment could not be read is read again a few times
	// (settleMarker: it may be inside an execve). If it still cannot be, it may be
	// a member handing the tree on (it is exiting: its memory is gone before its
	// children are handed on): its children, whose own copy of the environment can
	// be read, are looked at, and if it has ended, the landing points again.
	for _, st := range unsure {
		if p.settleMarker(st) {
			w.add(st)
			continue
		}
		if v.full {
			continue
		}
		if now, ok := procfs.ReadStat(st.Pid); !ok || now.Dead() || now.Start != st.Start {
			w.moved = true
			continue
		}
		for _, k := range procfs.ChildrenOf(st.Pid) {
			kst, ok := procfs.ReadStat(k)
			if !ok || kst.Dead() || kst.Start < p.start || w.in[k] {
				continue
			}
			p.mu.Lock()
			has := p.carriesMarker(kst)
			p.mu.Unlock()
			if has {
				w.add(kst)
			}
		}
	}
	// Helper containment: an orphan of the helper nothing else ties to a tree (a
	// double-forked daemon that cleared its environment and left the session) is
	// ours only if no other live tree of this host could have started it.
	for _, st := range helperOrphans {
		if !w.in[st.Pid] && !p.orphanHasOtherOwner(st) {
			w.add(st)
		}
	}
}

// treeWalk is one search for a tree's members.
type treeWalk struct {
	self, helper   int // never members: the host, and its helper (0: none)
	leader         int
	view           *procView
	in             map[int]bool
	out            []procfs.Stat
	moved          bool // a member ended while its children were read (see tree)
	leaderWasAlive bool // before the view was read
	slot           int  // its tree's place in treesOf's answer
}

// stat reads pid's stat: from the view when it is a walk of all of /proc, else
// afresh.
func (w *treeWalk) stat(pid int) (procfs.Stat, bool) {
	if w.view.full {
		st, ok := w.view.stats[pid]
		return st, ok
	}
	return procfs.ReadStat(pid)
}

// children lists pid's children: from the view when it is a walk of all of /proc,
// else from the kernel's lists as they are now.
func (w *treeWalk) children(pid int) []int {
	if w.view.full {
		return w.view.kids[pid]
	}
	return procfs.ChildrenOf(pid)
}

// add makes st's process a member (unless it has ended: a zombie whose other
// threads live on still has children) and, by ancestry, every descendant of it.
func (w *treeWalk) add(st procfs.Stat) {
	if w.in[st.Pid] || st.Pid == w.self || st.Pid == w.helper {
		return
	}
	w.in[st.Pid] = true
	if !st.Dead() {
		w.out = append(w.out, st)
	}
	if w.view.full || st.Pid == w.leader {
		// The leader's list is read whole, and its end checked by tree.
		w.addChildren(w.children(st.Pid))
		return
	}
	kids, now, ok := childrenThenStat(st.Pid)
	if st.Dead() || !ok || now.Dead() || now.Start != st.Start {
		// Ended before or while its children were read: they may have gone to a
		// landing point since the view.
		w.moved = true
	}
	w.addChildren(kids)
}

// childrenThenStat reads pid's children, then its stat: a stat that finds it alive
// says the list was whole (a process keeps its children while it lives; they leave
// only when it ends). The main thread's list serves when the stat finds no other
// thread; else every thread's list is read, and the stat again after it.
func childrenThenStat(pid int) ([]int, procfs.Stat, bool) {
	kids := procfs.MainChildren(pid)
	st, ok := procfs.ReadStat(pid)
	if ok && st.Threads > 1 {
		kids = procfs.ChildrenOf(pid)
		st, ok = procfs.ReadStat(pid)
	}
	return kids, st, ok
}

// addChildren adds each child a member's list named (and, by ancestry, theirs).
// Without a whole-/proc view, a child's own children are read before its stat
// (childrenThenStat), so that one stat serves for both what it is and whether its
// list can be trusted: the members found this way, most of a tree, cost two reads
// each (where a stat, the task directory, the list and a stat again were four).
func (w *treeWalk) addChildren(kids []int) {
	for _, k := range kids {
		if w.in[k] || k == w.self || k == w.helper {
			continue
		}
		if w.view.full {
			if kst, ok := w.view.stats[k]; ok {
				w.add(kst)
			}
			continue
		}
		grand, kst, ok := childrenThenStat(k)
		if !ok {
			// Reaped since its parent's list was read: its own children went to
			// a landing point, maybe after the view.
			w.moved = true
			continue
		}
		w.in[k] = true
		if kst.Dead() {
			// Ended before or while its list was read (a zombie leader whose
			// threads live on keeps its children, and they are still members).
			w.moved = true
		} else {
			w.out = append(w.out, kst)
		}
		w.addChildren(grand)
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
	if p.cgEmpty.Load() {
		return nil, true
	}
	populated, err := cgroup.Populated(p.cgroup)
	if (err == nil && !populated) || errors.Is(err, fs.ErrNotExist) {
		// Empty; or removed, which only an empty cgroup can be (the helper
		// removes a tree's once it reaped it empty).
		p.cgEmpty.Store(true)
		return nil, true // empty: no list to read, no member to stat
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

// procView is one read, shared by every tree that asked for it, of where the
// orphans of the host's trees land: the children, zombies included, of the
// helpers, the host and its ancestors up to pid 1 (the leaders of the host's
// trees left out: a leader is never another tree's orphan, and a thousand of them
// would cost a thousand stat reads a round). Without the kernel's children lists
// it is a walk of all of /proc instead (full): every process, under its parent.
// Read-only once made.
type procView struct {
	full    bool
	kids    map[int][]int       // landing point (full: every parent) → its children
	stats   map[int]procfs.Stat // every process listed in kids
	landing map[int]bool        // the landing points read
}

// readProcView makes a procView now (one of the blocking slots held).
func readProcView() *procView {
	defer blocking()()
	v := &procView{kids: map[int][]int{}, stats: map[int]procfs.Stat{}, landing: map[int]bool{}}
	if !procfs.ChildrenListed() {
		v.full = true
		procfs.Scan(func(st procfs.Stat) {
			v.stats[st.Pid] = st
			v.kids[st.PPid] = append(v.kids[st.PPid], st.Pid)
		})
		return v
	}
	skip := leaders.pids()
	self := os.Getpid()
	points := landingPoints()
	landedDead.sweep()
	// The host's ancestors confirmed alive by this view (the stat AdoptedByAt read):
	// listed as a landing point's children (each is its parent's), they are no
	// tree's members and need no stat. Points go upwards, so each is confirmed
	// before its parent lists it.
	alive := map[int]bool{}
	// A listed child that ended before its stat was read handed its own children
	// to a landing point after the listing: list again (bounded), stat'ing only
	// what is new. (pid 1's zombies cost one more listing.)
	for pass := 0; pass < 3; pass++ {
		ended := false
		for _, lp := range points {
			v.landing[lp] = true
			kids, main, ok := procfs.AdoptedByAt(lp)
			if start, anc := ancestry.startOf(lp); anc {
				if ok && !main.Dead() && main.Start == start {
					alive[lp] = true
				} else {
					ancestry.gone(lp) // ended: its pid, if it is ever listed, is another's
				}
			}
			for _, k := range kids {
				if skip[k] || k == self || alive[k] {
					continue
				}
				if _, known := v.stats[k]; known {
					continue
				}
				if st, ok := landedDead.get(k); ok {
					// A zombie a view read a moment ago: its children were
					// handed on before that read, so no new listing for it.
					v.stats[k] = st
					v.kids[lp] = append(v.kids[lp], k)
					continue
				}
				st, ok := procfs.ReadStat(k)
				if !ok || st.Dead() {
					ended = true
				}
				if ok {
					v.stats[k] = st
					v.kids[lp] = append(v.kids[lp], k)
					if st.Dead() {
						landedDead.put(st)
					}
				}
			}
		}
		if !ended {
			break
		}
	}
	return v
}

// landedDead remembers, for a moment, the zombies the views read among the landing
// points' children. A landing point that reaps slowly (an init that is not ours, a
// busy subreaper) holds the zombies of every tree that ended there, and every view
// read them all again (measured: 200 to 400 stat reads a view after a few
// 101-process trees, most of a tree cancel's CPU). A pid listed again soon after
// the read that found it a zombie is that zombie still: to name another process it
// would have to be reaped and its number re-used, and Linux hands out pids
// cyclically (per pid namespace), so that takes forking through the whole pid space
// first. "Soon" is pid_max microseconds (at most a second): no machine forks a
// million processes a second (pid_max 32768: 33 ms; 4194304: the full second).
var landedDead = deadCache{m: map[int]deadSeen{}}

type deadCache struct {
	mu   sync.Mutex
	m    map[int]deadSeen
	once sync.Once
	ttl  time.Duration // 0: off (pid_max unknown)
}

type deadSeen struct {
	st procfs.Stat
	at time.Time // when the read that found it a zombie was made
}

func (d *deadCache) ttlNow() time.Duration {
	d.once.Do(func() {
		b, err := os.ReadFile("/proc/sys/kernel/pid_max")
		if err != nil {
			return
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			d.ttl = min(time.Duration(n)*time.Microsecond, time.Second)
		}
	})
	return d.ttl
}

func (d *deadCache) get(pid int) (procfs.Stat, bool) {
	ttl := d.ttlNow()
	if ttl == 0 {
		return procfs.Stat{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.m[pid]
	if !ok || time.Since(e.at) >= ttl {
		return procfs.Stat{}, false
	}
	return e.st, true
}

// put records st, read as a zombie just now.
func (d *deadCache) put(st procfs.Stat) {
	if d.ttlNow() == 0 {
		return
	}
	d.mu.Lock()
	d.m[st.Pid] = deadSeen{st: st, at: time.Now()}
	d.mu.Unlock()
}

// sweep drops the entries too old to use (once a view).
func (d *deadCache) sweep() {
	ttl := d.ttlNow()
	d.mu.Lock()
	defer d.mu.Unlock()
	for pid, e := range d.m {
		if time.Since(e.at) >= ttl {
			delete(d.m, pid)
		}
	}
}

// landingPoints are the processes an orphan of one of the host's trees can
// re-parent to: the helpers of its trees (subreapers; helperTrees lists every
// tree started through one until its reap), and the host and each of
// its ancestors up to pid 1 (any may be a subreaper; without the helper, or once
// it died, orphans go there). The ancestors are the ones first read (ancestry).
func landingPoints() []int {
	var out []int
	helpers := map[int]bool{}
	helperTrees.Lock()
	for q := range helperTrees.trees {
		if q.helper != nil && !helpers[q.helper.pid] {
			helpers[q.helper.pid] = true
			out = append(out, q.helper.pid)
		}
	}
	helperTrees.Unlock()
	if hostAdopts() {
		out = append(out, os.Getpid())
	}
	return append(out, ancestry.pids()...)
}

// ancestry is the host's chain of ancestors up to the init of its pid namespace,
// read once (pid and start time), parent first. Reading it again for every view
// cost a stat per ancestor, and each ancestor's stat once more as its parent's
// child: most of a natural exit's look for leftovers. Read once is enough: when an
// ancestor ends, its orphans (and the host, if it was the parent) go to the
// nearest subreaper above it or to init, which are in the chain already; an
// ancestor a view finds ended (gone) is dropped, so that its pid, once another's,
// is neither listed nor skipped.
var ancestry ancestors

type ancestors struct {
	once  sync.Once
	mu    sync.Mutex
	chain []procfs.Stat
}

func (a *ancestors) read() {
	a.once.Do(func() {
		for pid, hops := os.Getpid(), 0; pid > 1 && hops < 64; hops++ {
			st, ok := procfs.ReadStat(pid)
			if !ok || st.PPid < 1 {
				break
			}
			pid = st.PPid
			pst, ok := procfs.ReadStat(pid)
			if !ok {
				pst = procfs.Stat{Pid: pid} // start unknown: never confirmed, so never skipped
			}
			a.chain = append(a.chain, pst)
		}
	})
}

func (a *ancestors) pids() []int {
	a.read()
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]int, len(a.chain))
	for i, st := range a.chain {
		out[i] = st.Pid
	}
	return out
}

// startOf is pid's start time if it is one of the ancestors.
func (a *ancestors) startOf(pid int) (uint64, bool) {
	a.read()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.chain {
		if st.Pid == pid {
			return st.Start, st.Start != 0
		}
	}
	return 0, false
}

// gone drops an ancestor that has ended. Pid 1 stays: it is every orphan's last
// landing point (and it never ends while the namespace lives).
func (a *ancestors) gone(pid int) {
	if pid == 1 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.chain = slices.DeleteFunc(a.chain, func(st procfs.Stat) bool { return st.Pid == pid })
}

// hostAdopts reports whether orphans can land on the host: if it is the init of its
// pid namespace (Node as pid 1 of a container started without --init: every orphan
// of the namespace is its, and PR_GET_CHILD_SUBREAPER says 0 for it), or a child
// subreaper (asked each time: a host may become one at any moment). Otherwise its
// children are its own — our leaders, which the views leave out, and whatever else
// it started — and listing its every thread's children was, for a host of thirty
// threads, most of what finding a tree cost after a natural exit.
func hostAdopts() bool {
	if os.Getpid() == 1 {
		return true
	}
	var v int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&v)), 0, 0, 0); err != nil {
		return true // cannot tell: read it as before
	}
	return v != 0
}

// leaders are the pids of the host's leaders not yet reaped (each pid is theirs
// until the reap): the views leave them out.
var leaders = leaderSet{m: map[int]bool{}}

type leaderSet struct {
	mu sync.Mutex
	m  map[int]bool
}

func (s *leaderSet) add(pid int) {
	s.mu.Lock()
	s.m[pid] = true
	s.mu.Unlock()
}

func (s *leaderSet) remove(pid int) {
	s.mu.Lock()
	delete(s.m, pid)
	s.mu.Unlock()
}

func (s *leaderSet) pids() map[int]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]bool, len(s.m))
	for pid := range s.m {
		out[pid] = true
	}
	return out
}

// procViews coalesces the reads: every tree that asks while a read runs gets the
// next one, made after it asked.
var procViews = sharedRead[*procView]{read: readProcView}

// sharedRead runs read for many callers at once: get returns the result of a read
// that started after get was called (so it is as fresh as a read of one's own),
// and every caller waiting at that moment shares it.
type sharedRead[T any] struct {
	read    func() T
	waiting batchq.Queue[chan T]
}

func (s *sharedRead[T]) get() T {
	ch := make(chan T, 1)
	s.waiting.Add(ch, s.serve)
	return <-ch
}

// serve makes one read for every caller waiting when it starts.
func (s *sharedRead[T]) serve(waiting []chan T) {
	v := s.read()
	for _, ch := range waiting {
		ch <- v
	}
}
