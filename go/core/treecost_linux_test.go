package core

import (
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pawwork/pawwork-supervisor/go/internal/fdcheck"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// awaitEnds returns once every process it was given has ended, long before its
// bound (it waits on their pidfds, not the clock), and holds no fd afterwards.
func TestAwaitEndsReturnsWhenTheProcessesEnd(t *testing.T) {
	prepareQuietSet()
	fds := fdcheck.Count()
	var pids []int
	var cmds []*exec.Cmd
	for _, d := range []string{"0.1", "0.2", "0.3"} {
		cmd := exec.Command("sleep", d)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		pids = append(pids, cmd.Process.Pid)
	}
	// Reaped as they end, as a landing point would: awaitEnds must see a
	// zombie's end as well as a reaped process's.
	var wg sync.WaitGroup
	for _, cmd := range cmds[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); cmd.Wait() }()
	}
	t0 := time.Now()
	awaitEnds(pids, bound)
	if took := time.Since(t0); took > bound/2 {
		t.Errorf("awaitEnds took %v for processes that ended within 0.3 s; it waited for its bound (%v), not their ends", took, bound)
	}
	cmds[0].Wait()
	wg.Wait()
	if n := fdcheck.Count(); n != fds {
		t.Errorf("fds %d after awaitEnds, %d before", n, fds)
	}
}

// While a process lives on, awaitEnds returns at its bound.
func TestAwaitEndsReturnsAtItsBound(t *testing.T) {
	prepareQuietSet()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	t0 := time.Now()
	awaitEnds([]int{cmd.Process.Pid, 1 << 30}, 50*time.Millisecond) // a pid that names nothing is skipped
	if took := time.Since(t0); took < 50*time.Millisecond || took > bound {
		t.Errorf("awaitEnds took %v with a live process and a 50 ms bound", took)
	}
}

// The views' zombie cache serves a zombie only within its time to live, and
// sweep drops it after.
func TestLandedDeadServesAZombieOnlyForAMoment(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	var st procfs.Stat
	deadline := time.Now().Add(bound)
	for {
		s, ok := procfs.ReadStat(pid)
		if ok && s.Dead() {
			st = s
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d did not become a zombie", pid)
		}
		time.Sleep(time.Millisecond)
	}
	defer cmd.Wait()
	d := deadCache{m: map[int]deadSeen{}}
	d.once.Do(func() { d.ttl = 30 * time.Millisecond })
	if _, ok := d.get(pid); ok {
		t.Fatal("an empty cache served a zombie")
	}
	d.put(st)
	if got, ok := d.get(pid); !ok || got != st {
		t.Fatalf("get right after put: %+v %v, want %+v", got, ok, st)
	}
	time.Sleep(40 * time.Millisecond)
	if _, ok := d.get(pid); ok {
		t.Error("a zombie read longer ago than the time to live was served")
	}
	d.sweep()
	if len(d.m) != 0 {
		t.Errorf("sweep left %d entries older than the time to live", len(d.m))
	}
	off := deadCache{m: map[int]deadSeen{}}
	off.once.Do(func() {}) // pid_max unknown: off
	off.put(st)
	if _, ok := off.get(pid); ok {
		t.Error("a cache without a time to live served a zombie")
	}
}

// The ancestry is read once: the host's parent first, up to the init of its pid
// namespace, each with its start time; a view then lists their children without a
// stat of any ancestor or of the host (they are no tree's members).
func TestViewsReadTheAncestryOnceAndSkipIt(t *testing.T) {
	chain := ancestry.pids()
	if len(chain) == 0 {
		if os.Getpid() != 1 {
			t.Fatal("no ancestors read for a host that is not pid 1")
		}
		return
	}
	if chain[0] != os.Getppid() {
		t.Errorf("ancestry starts at %d, want the parent %d", chain[0], os.Getppid())
	}
	if last := chain[len(chain)-1]; last != 1 {
		if st, ok := procfs.ReadStat(last); !ok || st.PPid != 0 {
			t.Errorf("ancestry ends at %d, which is neither pid 1 nor the top of the namespace", last)
		}
	}
	for _, pid := range chain {
		st, ok := procfs.ReadStat(pid)
		if start, anc := ancestry.startOf(pid); !anc || !ok || st.Start != start {
			t.Errorf("ancestor %d: start %d (recorded %v) vs %d now", pid, start, anc, st.Start)
		}
	}
	v := readProcView()
	if v.full {
		t.Skip("no children lists: views walk all of /proc")
	}
	for _, pid := range append(chain, os.Getpid()) {
		if _, in := v.stats[pid]; in {
			t.Errorf("the view read the stat of %d, an ancestor or the host", pid)
		}
	}
}

// An ancestor found ended is dropped (its pid may become another's); pid 1 stays.
func TestAnAncestorFoundEndedIsDropped(t *testing.T) {
	a := ancestors{chain: []procfs.Stat{{Pid: 4242, Start: 7}, {Pid: 1, Start: 1}}}
	a.once.Do(func() {})
	if s, ok := a.startOf(4242); !ok || s != 7 {
		t.Fatalf("startOf(4242) = %d, %v", s, ok)
	}
	a.gone(4242)
	a.gone(1)
	if got := a.pids(); len(got) != 1 || got[0] != 1 {
		t.Errorf("after gone: %v, want [1]", got)
	}
	if _, ok := a.startOf(4242); ok {
		t.Error("a dropped ancestor still has a start time")
	}
}

// childrenThenStat reads one list for a process without other threads, and every
// thread's list when it has more: a child that a thread other than the main one
// forked is on that thread's list only, and must be found.
func TestChildrenThenStatFindsTheChildrenOfEveryThread(t *testing.T) {
	// A single-threaded parent: its main thread's list is all of its children.
	sh := exec.Command("sh", "-c", "sleep 30 & sleep 30 & echo x; wait")
	out, err := sh.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, k := range procfs.ChildrenOf(sh.Process.Pid) {
			syscallKill(k)
		}
		sh.Process.Kill()
		sh.Wait()
	}()
	if _, err := out.Read(make([]byte, 2)); err != nil {
		t.Fatal(err)
	}
	kids, st, ok := childrenThenStat(sh.Process.Pid)
	if !ok || st.Threads != 1 || len(kids) != 2 {
		t.Fatalf("sh: kids %v, stat %+v ok %v; want its 2 sleepers, 1 thread", kids, st, ok)
	}

	// This test's own process, with many threads: a child started from a thread
	// that is not the main one.
	type started struct {
		cmd *exec.Cmd
		tid int
		err error
	}
	ch := make(chan started)
	hold := make(chan struct{})
	var start func()
	start = func() {
		runtime.LockOSThread() // the thread stays (and keeps its child) until hold closes
		defer runtime.UnlockOSThread()
		if unix.Gettid() == os.Getpid() {
			// Scheduled on the main thread (Go may run any goroutine there): it is
			// held by this one, so the next goroutine to lock gets another thread.
			go start()
			<-hold
			return
		}
		cmd := exec.Command("sleep", "30")
		err := cmd.Start()
		ch <- started{cmd, unix.Gettid(), err}
		<-hold
	}
	go start()
	s := <-ch
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}()
	defer close(hold)
	pid := s.cmd.Process.Pid
	if s.tid == os.Getpid() {
		t.Fatal("the goroutine ran on the main thread: the case is not made")
	}
	if slices.Contains(procfs.MainChildren(os.Getpid()), pid) {
		t.Fatalf("child %d is on the main thread's list: the case is not made", pid)
	}
	kids, st, ok = childrenThenStat(os.Getpid())
	if !ok || st.Threads < 2 || !slices.Contains(kids, pid) {
		t.Fatalf("kids %v (threads %d): the child %d of thread %d is missing", kids, st.Threads, pid, s.tid)
	}
}

func syscallKill(pid int) { unix.Kill(pid, unix.SIGKILL) }

// A cancel's walk for the members outside the group waits for the leaders that have
// children (their trees are dying of the group's signal), and only until each ended
// or the deadline; a leader without children is not waited for at all.
func TestAwaitLeadersWaitsOnlyForParentsUntilTheirEnd(t *testing.T) {
	lone := exec.Command("sleep", "30")
	parent := exec.Command("sh", "-c", "sleep 30 & wait")
	for _, cmd := range []*exec.Cmd{lone, parent} {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
	}
	defer exec.Command("pkill", "-KILL", "-P", strconv.Itoa(parent.Process.Pid)).Run()
	for deadline := time.Now().Add(bound); len(procfs.MainChildren(parent.Process.Pid)) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the parent started no child")
		}
		time.Sleep(time.Millisecond)
	}
	step := func(pid int) *firstStep {
		return &firstStep{c: &Child{leaderEnd: make(chan struct{}), p: &proc{pid: pid}}}
	}

	t0 := time.Now()
	awaitLeaders([]*firstStep{step(lone.Process.Pid)}, t0.Add(bound))
	if took := time.Since(t0); took > bound/2 {
		t.Errorf("awaitLeaders waited %v for a live leader without children", took)
	}

	t0 = time.Now()
	awaitLeaders([]*firstStep{step(lone.Process.Pid), step(parent.Process.Pid)}, t0.Add(100*time.Millisecond))
	if took := time.Since(t0); took < 100*time.Millisecond || took > bound/2 {
		t.Errorf("awaitLeaders took %v for a live parent and a 100 ms deadline", took)
	}

	s := step(parent.Process.Pid)
	t0 = time.Now() // before the timer starts: took is never short of its 50 ms
	time.AfterFunc(50*time.Millisecond, func() { close(s.c.leaderEnd) })
	awaitLeaders([]*firstStep{s}, t0.Add(bound))
	if took := time.Since(t0); took < 50*time.Millisecond || took > bound/2 {
		t.Errorf("awaitLeaders took %v for a parent whose end came after 50 ms", took)
	}
}

// A member in the leader's group and session has the group's signal: the cancel's
// step signals one by one only the members outside the group (here a setsid'd one),
// in every containment mode, and every member still ends. The members ignore TERM
// (inherited), so that each is still there for the step's look, and end by the
// ladder's SIGKILL.
func TestGroupMembersAreNotSignalledTwice(t *testing.T) {
	for _, mode := range []string{"helper", "helper-nocgroup", "fallback"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			withContainment(t, mode)
			var mu sync.Mutex
			var got []int
			signalMember = func(st procfs.Stat, sig unix.Signal) bool {
				if sig == unix.SIGTERM {
					mu.Lock()
					got = append(got, st.Pid)
					mu.Unlock()
				}
				return procfs.Signal(st, sig)
			}
			t.Cleanup(func() { signalMember = procfs.Signal })
			c := h.start(&Options{Argv: []string{"sh", "-c", "trap '' TERM; sleep 100 & sleep 100 & setsid sleep 100 & sleep 0.2; echo ready; wait"}, Stdout: StdioPipe})
			h.waitStdout(c, "ready")
			var grouped, apart []int
			for _, pid := range c.p.members() {
				st, _ := procfs.ReadStat(pid)
				switch {
				case pid == c.p.pid:
				case st.Pgid == c.p.pid:
					grouped = append(grouped, pid)
				default:
					apart = append(apart, pid)
				}
				h.track(pid)
			}
			if len(grouped) != 2 || len(apart) != 1 {
				t.Fatalf("members: in the group %v, apart %v; want two and one", grouped, apart)
			}
			c.Cancel(ReasonStop, int(unix.SIGTERM), 300*time.Millisecond)
			o := h.waitExit(c)
			if o.Phases.KillMs == 0 || len(o.Errors) > 0 {
				t.Errorf("outcome %+v: want every member ended by the SIGKILL after the grace", o)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 || got[0] != apart[0] {
				t.Errorf("TERM one by one to %v; want only the member outside the group, %d", got, apart[0])
			}
			assertAllDead(t, mode, append(grouped, apart...)...)
		})
	}
}
