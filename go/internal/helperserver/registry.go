package helperserver

// The macOS helper's bookkeeping and kill decisions (server_darwin.go uses them):
// pure Go over a snapshot of the process table, so that they are tested on Linux
// with tables made by hand (registry_test.go).
//
// On macOS the host spawns its leaders itself (it must be their parent to get
// their exit status) and registers each with the helper: id, pid, start time. A
// leader leads its own session and group (setsid), and a session or group id
// cannot be given to a new process while the session or group has a member, so
// "sid or pgid is the leader's pid, started no earlier than the leader" names the
// tree's members, and the parent links name what left the session. A process is
// taken as ours only when all of these hold:
//   - same uid as the helper (nothing else could be signalled anyway);
//   - not the helper, not the host, not pid 1, not a zombie;
//   - not let go by the host (pid and start time), nor below one let go;
//   - a member of a registered tree's session or group, started no earlier than
//     its leader, while the leader's pid does not name a live process started at
//     another time (then the id was given again: the tree is gone); or a child of
//     such a process (transitively), started no earlier than its parent; or one an
//     earlier look of the same kill took, still with the same start time.
//
// What this cannot tell apart: a tree reaped and emptied whose session id was given
// to a new session whose leader has exited too, before prune (every 2 s) forgot the
// tree; and a process that left the session and lost its parent before the host
// died (no link to the tree is left on macOS: no subreaper).

import (
	"slices"
	"time"
)

// procRow is one process of a snapshot of the process table.
type procRow struct {
	pid, ppid, pgid, sid, uid int
	start                     int64 // start time, µs since the epoch (darwin: p_starttime)
	zombie                    bool
}

// watchedTree is a leader the host registered.
type watchedTree struct {
	leader int
	start  int64 // the leader's start time
	reaped bool  // the host reaped the leader: only its leftovers remain
}

// registry is what the helper holds for its host (the caller locks it).
type registry struct {
	trees map[int64]*watchedTree
	letGo map[int]int64 // pid → start time: leftovers the host let go, never killed
}

func newRegistry() *registry {
	return &registry{trees: map[int64]*watchedTree{}, letGo: map[int]int64{}}
}

func (r *registry) watch(id int64, pid int, start int64) {
	r.trees[id] = &watchedTree{leader: pid, start: start}
}

func (r *registry) reap(id int64) {
	if t := r.trees[id]; t != nil {
		t.reaped = true
	}
}

// let records the leftovers the host let go, as the table shows them now (a pid
// the table does not show is gone already: nothing to spare).
func (r *registry) let(table []procRow, pids []int) {
	byPid := index(table)
	for _, pid := range pids {
		if p, ok := byPid[pid]; ok && !p.zombie {
			r.letGo[pid] = p.start
		}
	}
}

// prune forgets, after one look at the table, the trees whose leader was reaped
// and that have no member left (their ids may be given again from now on), and the
// let-go entries whose process is gone. Done regularly, so that a long-lived host
// with many short children holds little, and a session id given again after the
// tree emptied is never taken for the tree.
func (r *registry) prune(table []procRow, self, uid int) {
	live := map[int64]bool{}
	for _, v := range r.victimsOf(table, self, 0, uid, nil) {
		live[v.tree] = true
	}
	for id, t := range r.trees {
		if t.reaped && !live[id] {
			delete(r.trees, id)
		}
	}
	byPid := index(table)
	for pid, start := range r.letGo {
		if p, ok := byPid[pid]; !ok || p.start != start || p.zombie {
			delete(r.letGo, pid)
		}
	}
}

// victims lists, from one snapshot, every process to kill at the host's death
// (see the top of this file), members first, then what is below them, each once.
// self is the helper, host the host (never touched), uid the helper's.
//
// known, when not nil, lists (pid → start time) processes an earlier look took as
// victims: each still in the table with that start time is one again, with what is
// below it (the kill ladder passes what it signalled, so that a member whose
// parent died of the SIGTERM, and that left the session, is not lost).
func (r *registry) victims(table []procRow, self, host, uid int, known map[int]int64) []procRow {
	vs := r.victimsOf(table, self, host, uid, known)
	out := make([]procRow, len(vs))
	for i, v := range vs {
		out[i] = v.procRow
	}
	return out
}

type victim struct {
	procRow
	tree int64
}

func (r *registry) victimsOf(table []procRow, self, host, uid int, known map[int]int64) []victim {
	byPid := index(table)
	kids := map[int][]procRow{}
	for _, p := range table {
		kids[p.ppid] = append(kids[p.ppid], p)
	}
	// What the host let go, and everything below it: spared.
	spared := map[int]bool{}
	var spare func(p procRow)
	spare = func(p procRow) {
		if spared[p.pid] {
			return
		}
		spared[p.pid] = true
		for _, k := range kids[p.pid] {
			if k.start >= p.start {
				spare(k)
			}
		}
	}
	for pid, start := range r.letGo {
		if p, ok := byPid[pid]; ok && p.start == start {
			spare(p)
		}
	}
	eligible := func(p procRow) bool {
		return p.pid > 1 && p.pid != self && p.pid != host && p.uid == uid && !p.zombie && !spared[p.pid]
	}
	ids := make([]int64, 0, len(r.trees))
	for id := range r.trees {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	in := map[int]bool{}
	var out []victim
	for _, id := range ids {
		t := r.trees[id]
		if l, ok := byPid[t.leader]; ok && l.start != t.start {
			continue // the leader's pid names another process: the tree's ids are not its own any more
		}
		for _, p := range table {
			if !in[p.pid] && (p.sid == t.leader || p.pgid == t.leader) && p.start >= t.start && eligible(p) {
				in[p.pid] = true
				out = append(out, victim{p, id})
			}
		}
	}
	for _, p := range table {
		if start, ok := known[p.pid]; ok && start == p.start && !in[p.pid] && eligible(p) {
			in[p.pid] = true
			out = append(out, victim{p, 0})
		}
	}
	// Below the members, breadth-first: what left the session (setsid, a new group)
	// is still a child of one.
	for i := 0; i < len(out); i++ {
		parent := out[i]
		for _, k := range kids[parent.pid] {
			if !in[k.pid] && k.start >= parent.start && eligible(k) {
				in[k.pid] = true
				out = append(out, victim{k, parent.tree})
			}
		}
	}
	return out
}

func index(table []procRow) map[int]procRow {
	m := make(map[int]procRow, len(table))
	for _, p := range table {
		m[p.pid] = p
	}
	return m
}

// ladderOps are what the host-death kill needs from the platform: the victims as
// a fresh snapshot shows them, a signal to one, and the clock.
type ladderOps struct {
	victims func(known map[int]int64) []procRow
	signal  func(p procRow, step ladderStep)
	sleep   func(time.Duration)
	now     func() time.Time
}

// ladderStep names the signal of each step; the platform maps it to its number.
type ladderStep int

const (
	stepTerm ladderStep = iota // SIGTERM
	stepCont                   // SIGCONT
	stepStop                   // SIGSTOP
	stepKill                   // SIGKILL
)

// killLadder ends the victims: SIGTERM (and SIGCONT, so that a stopped one acts on
// it) to each; until grace has passed, or sooner once none is left, a fresh look
// every poll; then, until none is left or bound has passed since the start,
// SIGSTOP to each victim of a fresh look (nothing forks out meanwhile) and SIGKILL
// to each. Every round reads the table again, so a process started during the
// grace, or a pid given again meanwhile, is judged anew. It returns what survived.
func killLadder(ops ladderOps, grace, bound time.Duration) []procRow {
	const poll = 10 * time.Millisecond
	begin := ops.now()
	known := map[int]int64{} // everything taken as a victim so far (pid → start time)
	look := func() []procRow {
		vs := ops.victims(known)
		for _, v := range vs {
			known[v.pid] = v.start
		}
		return vs
	}
	vs := look()
	if len(vs) == 0 {
		return nil
	}
	for _, v := range vs {
		ops.signal(v, stepTerm)
		ops.signal(v, stepCont)
	}
	for ops.now().Sub(begin) < grace {
		ops.sleep(poll)
		if vs = look(); len(vs) == 0 {
			return nil
		}
	}
	for {
		vs = look()
		if len(vs) == 0 || ops.now().Sub(begin) >= bound {
			return vs
		}
		for _, v := range vs {
			ops.signal(v, stepStop)
		}
		for _, v := range vs {
			ops.signal(v, stepKill)
		}
		ops.sleep(5 * time.Millisecond)
	}
}
