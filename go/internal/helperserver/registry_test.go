package helperserver

// The macOS helper's kill decisions and ladder, on process tables made by hand
// (the logic is platform-independent; server_darwin_test.go runs it for real).

import (
	"slices"
	"testing"
	"time"
)

const (
	self = 500
	host = 400
	uid  = 501
	t0   = int64(1_000_000) // the leader's start time
)

func pids(rows []procRow) []int {
	var out []int
	for _, r := range rows {
		out = append(out, r.pid)
	}
	slices.Sort(out)
	return out
}

// row: pid, ppid, pgid, sid, start; uid is the helper's, not a zombie.
func row(pid, ppid, pgid, sid int, start int64) procRow {
	return procRow{pid: pid, ppid: ppid, pgid: pgid, sid: sid, uid: uid, start: start}
}

// A tree: leader 1000 (its own session and group), a member in its group, a
// member that made its own group in the session, an escaper that made its own
// session (a child of a member), and its child. Around it: the host, the helper,
// an unrelated process of the same uid, one of another uid in the session (cannot
// be), a zombie member, and a process in the session that started before the
// leader (impossible in truth, refused all the same).
func table() []procRow {
	other := row(1007, 1000, 1000, 1000, t0+7)
	other.uid = 0
	z := row(1008, 1000, 1000, 1000, t0+8)
	z.zombie = true
	return []procRow{
		row(1, 0, 1, 1, 1),
		row(host, 1, host, host, 10),
		row(self, host, self, self, 20),
		row(1000, host, 1000, 1000, t0),
		row(1001, 1000, 1000, 1000, t0+1),
		row(1002, 1000, 1002, 1000, t0+2),
		row(1003, 1001, 1003, 1003, t0+3), // setsid escaper
		row(1004, 1003, 1003, 1003, t0+4), // its child
		row(900, 1, 900, 900, t0+5),       // unrelated
		other,
		z,
		row(1009, 1, 1000, 1000, t0-1), // older than the leader
	}
}

func TestVictimsOfOneTree(t *testing.T) {
	r := newRegistry()
	r.watch(1, 1000, t0)
	got := pids(r.victims(table(), self, host, uid, nil))
	want := []int{1000, 1001, 1002, 1003, 1004}
	if !slices.Equal(got, want) {
		t.Fatalf("victims %v, want %v", got, want)
	}
}

func TestVictimsNoneWithoutATree(t *testing.T) {
	if got := newRegistry().victims(table(), self, host, uid, nil); len(got) != 0 {
		t.Fatalf("victims %v with no tree registered", pids(got))
	}
}

// The leader's pid names a process started at another time: the ids are not the
// tree's any more, and nothing in that session or group is touched.
func TestVictimsPidGivenAgain(t *testing.T) {
	r := newRegistry()
	r.watch(1, 1000, t0-100)
	if got := r.victims(table(), self, host, uid, nil); len(got) != 0 {
		t.Fatalf("victims %v of a tree whose leader pid was given again", pids(got))
	}
}

// The leader was reaped (gone from the table): its leftovers are still killed.
func TestVictimsAfterTheLeaderIsReaped(t *testing.T) {
	tb := slices.DeleteFunc(table(), func(p procRow) bool { return p.pid == 1000 })
	r := newRegistry()
	r.watch(1, 1000, t0)
	r.reap(1)
	got := pids(r.victims(tb, self, host, uid, nil))
	// 1002's parent (1000) is gone, but it is still in the session; 1003 and 1004
	// hang below 1001.
	if want := []int{1001, 1002, 1003, 1004}; !slices.Equal(got, want) {
		t.Fatalf("victims %v, want %v", got, want)
	}
}

// Leftovers let go are spared, with what is below them; the rest is not.
func TestVictimsSpareWhatWasLetGo(t *testing.T) {
	r := newRegistry()
	r.watch(1, 1000, t0)
	r.let(table(), []int{1003, 4242}) // 4242: not in the table, nothing to spare
	got := pids(r.victims(table(), self, host, uid, nil))
	if want := []int{1000, 1001, 1002}; !slices.Equal(got, want) {
		t.Fatalf("victims %v, want %v", got, want)
	}
	if _, ok := r.letGo[4242]; ok {
		t.Errorf("a pid not in the table was recorded as let go")
	}
	// The pid let go given again to a new process (with a child): that one is
	// judged afresh.
	tb := table()
	for i := range tb {
		switch tb[i].pid {
		case 1003:
			tb[i].start = t0 + 50
		case 1004:
			tb[i].start = t0 + 51
		}
	}
	got = pids(r.victims(tb, self, host, uid, nil))
	if want := []int{1000, 1001, 1002, 1003, 1004}; !slices.Equal(got, want) {
		t.Fatalf("after the let-go pid was given again: victims %v, want %v", got, want)
	}
}

// Two trees, one process each once; the host and the helper never, even when
// they sit in a tree's group (they cannot, but the decision must not rely on it).
func TestVictimsNeverHostOrHelper(t *testing.T) {
	tb := append(table(), row(2000, host, 2000, 2000, t0+10), row(2001, 2000, 2000, 2000, t0+11))
	for i := range tb {
		if tb[i].pid == host || tb[i].pid == self {
			tb[i].pgid, tb[i].sid, tb[i].start = 2000, 2000, t0+20
		}
	}
	r := newRegistry()
	r.watch(1, 1000, t0)
	r.watch(2, 2000, t0+10)
	got := r.victims(tb, self, host, uid, nil)
	if want := []int{1000, 1001, 1002, 1003, 1004, 2000, 2001}; !slices.Equal(pids(got), want) {
		t.Fatalf("victims %v, want %v", pids(got), want)
	}
	// Members before what is below them: 1003 and 1004 come after every member.
	if i := slices.IndexFunc(got, func(p procRow) bool { return p.pid == 1003 }); i < 4 {
		t.Errorf("escaper listed at %d, before the members", i)
	}
}

// prune forgets a reaped tree only once it has no member left, and let-go
// entries once their process is gone.
func TestPrune(t *testing.T) {
	r := newRegistry()
	r.watch(1, 1000, t0)
	r.watch(2, 3000, t0+30) // not reaped, nothing in the table: kept (the host still holds it)
	r.let(table(), []int{1003})
	r.reap(1)
	r.prune(table(), self, uid)
	if r.trees[1] == nil || r.trees[2] == nil || r.letGo[1003] == 0 {
		t.Fatalf("pruned a live tree or let-go entry: trees %v letGo %v", r.trees, r.letGo)
	}
	tb := []procRow{row(host, 1, host, host, 10), row(self, host, self, self, 20)}
	r.prune(tb, self, uid)
	if r.trees[1] != nil {
		t.Errorf("a reaped, empty tree was kept")
	}
	if r.trees[2] == nil {
		t.Errorf("an unreaped tree was dropped")
	}
	if len(r.letGo) != 0 {
		t.Errorf("let-go entries of gone processes kept: %v", r.letGo)
	}
}

// world is a fake process table for the ladder: each process dies of SIGKILL, and
// of SIGTERM unless it ignores it; one may fork a new member when it gets SIGTERM.
type world struct {
	now     time.Time
	rows    map[int]procRow
	ignores map[int]bool
	forks   map[int]int // pid → the child it starts on SIGTERM
	sent    map[ladderStep]int
	stopped map[int]bool
}

func (w *world) ops(r *registry) ladderOps {
	return ladderOps{
		victims: func(known map[int]int64) []procRow {
			var tb []procRow
			for _, p := range w.rows {
				tb = append(tb, p)
			}
			return r.victims(tb, self, host, uid, known)
		},
		signal: func(p procRow, step ladderStep) {
			w.sent[step]++
			switch step {
			case stepTerm:
				if !w.ignores[p.pid] && !w.stopped[p.pid] {
					// Its children are re-parented to init, as the kernel does.
					for k, c := range w.rows {
						if c.ppid == p.pid {
							c.ppid = 1
							w.rows[k] = c
						}
					}
				}
				if k, ok := w.forks[p.pid]; ok {
					w.rows[k] = row(k, p.pid, p.pgid, p.sid, p.start+1)
					delete(w.forks, p.pid)
				}
				if !w.ignores[p.pid] && !w.stopped[p.pid] {
					delete(w.rows, p.pid)
				}
			case stepStop:
				w.stopped[p.pid] = true
			case stepKill:
				delete(w.rows, p.pid)
			}
		},
		sleep: func(d time.Duration) { w.now = w.now.Add(d) },
		now:   func() time.Time { return w.now },
	}
}

func newWorld() *world {
	w := &world{now: time.Unix(1000, 0), rows: map[int]procRow{}, ignores: map[int]bool{}, forks: map[int]int{},
		sent: map[ladderStep]int{}, stopped: map[int]bool{}}
	for _, p := range table() {
		w.rows[p.pid] = p
	}
	return w
}

// Everything dies of SIGTERM: no SIGKILL is sent, and the ladder ends at once,
// not after the grace.
func TestLadderTermSuffices(t *testing.T) {
	w := newWorld()
	r := newRegistry()
	r.watch(1, 1000, t0)
	begin := w.now
	if left := killLadder(w.ops(r), 500*time.Millisecond, 5*time.Second); len(left) != 0 {
		t.Fatalf("survivors %v", pids(left))
	}
	if w.sent[stepKill] != 0 || w.sent[stepTerm] != 5 {
		t.Errorf("signals sent %v: want 5 SIGTERM, no SIGKILL", w.sent)
	}
	if d := w.now.Sub(begin); d > 20*time.Millisecond {
		t.Errorf("ladder took %v of fake time with nothing left after SIGTERM", d)
	}
	for _, pid := range []int{1, host, self, 900, 1007, 1009} {
		if _, ok := w.rows[pid]; !ok {
			t.Errorf("pid %d (not ours) was killed", pid)
		}
	}
}

// One ignores SIGTERM and forks a child when it gets it: after the grace both are
// killed, and nothing else is touched.
func TestLadderKillsWhatIgnoresTerm(t *testing.T) {
	w := newWorld()
	w.ignores[1001] = true
	w.forks[1001] = 1010
	w.ignores[1010] = true
	r := newRegistry()
	r.watch(1, 1000, t0)
	begin := w.now
	if left := killLadder(w.ops(r), 500*time.Millisecond, 5*time.Second); len(left) != 0 {
		t.Fatalf("survivors %v", pids(left))
	}
	if d := w.now.Sub(begin); d < 500*time.Millisecond {
		t.Errorf("SIGKILL after %v, before the grace", d)
	}
	for _, pid := range []int{1001, 1010} {
		if _, ok := w.rows[pid]; ok {
			t.Errorf("pid %d survived", pid)
		}
	}
	if w.sent[stepKill] != 2 || w.sent[stepStop] != 2 {
		t.Errorf("signals sent %v: want SIGSTOP and SIGKILL to 1001 and 1010 only", w.sent)
	}
	if _, ok := w.rows[900]; !ok {
		t.Errorf("an unrelated process was killed")
	}
}

// A process that never dies: the ladder stops at its bound and reports it.
func TestLadderBounded(t *testing.T) {
	w := newWorld()
	r := newRegistry()
	r.watch(1, 1000, t0)
	ops := w.ops(r)
	signal := ops.signal
	ops.signal = func(p procRow, step ladderStep) {
		if p.pid == 1002 {
			w.sent[step]++
			return
		}
		signal(p, step)
	}
	begin := w.now
	left := killLadder(ops, 100*time.Millisecond, time.Second)
	if got := pids(left); !slices.Equal(got, []int{1002}) {
		t.Fatalf("survivors %v, want [1002]", got)
	}
	if d := w.now.Sub(begin); d < time.Second || d > time.Second+50*time.Millisecond {
		t.Errorf("ladder ended after %v of fake time, want its bound (1s)", d)
	}
}

// A member that left the session (1003, a child of 1001) and ignores SIGTERM loses
// its parent to the SIGTERM: the later looks still know it (pid and start time),
// and it is killed; one let go is not, though it was a victim's child.
func TestLadderKeepsWhatItSaw(t *testing.T) {
	w := newWorld()
	w.ignores[1003] = true
	w.ignores[1004] = true
	r := newRegistry()
	r.watch(1, 1000, t0)
	if left := killLadder(w.ops(r), 500*time.Millisecond, 5*time.Second); len(left) != 0 {
		t.Fatalf("survivors %v", pids(left))
	}
	for _, pid := range []int{1003, 1004} {
		if _, ok := w.rows[pid]; ok {
			t.Errorf("pid %d, orphaned by the SIGTERM, survived", pid)
		}
	}
	if w.rows[900].pid != 900 {
		t.Errorf("an unrelated process was killed")
	}
}
