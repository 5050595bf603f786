package core

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// proc is a started leader on Linux. Its tree is every process that is in its
// session or process group, that carries its marker in the environment it was
// started with (and runs as the host's user), or that descends from any of those;
// with the helper, also the orphans that re-parented to the helper and can only be
// this tree's; with a cgroup, everything in the tree's cgroup. Members are found by
// scanning /proc and signalled through pidfds, each re-checked to be the same
// process (same start time) after the pidfd pinned it, so that a pid re-used after
// a member died is never hit.
type proc struct {
	pid    int
	pidf   *os.File // pollable pidfd; nil if the kernel has none
	start  uint64   // the leader's start time, in clock ticks since boot
	marker []byte   // "PAWWORK_SUPERVISOR_TREE=<random token>\x00", inherited by the tree; nil when the tree has none (it has a cgroup)

	// With the helper: the leader is the helper's child; it reports the exit and
	// reaps on our request.
	helper *helperConn
	hid    int64
	exit   chan helperMsg
	cgroup string // the tree's own cgroup v2 directory; "" when none

	mu        sync.Mutex
	reaped    bool
	marked    map[procKey]markCheck // environ checks already made
	signalled map[procKey]bool      // members a cancel signalled: gone only once reaped
	cancelled bool                  // the tree was signalled: its zombies count until reaped
	notes     []string              // what the cancel could not make sure of, for outcome.errors
}

// markCheck is what the environ reads of one process found: has is final once
// sure; an unreadable or empty environ (a process inside execve, a kernel thread) is
// read again at the next scan, a few times.
type markCheck struct {
	has, sure bool
	tries     uint8
}

// procKey names one process for good: a pid plus its start time.
type procKey struct {
	pid   int
	start uint64
}

// MarkerVar is the environment variable a supervised tree inherits when it has no
// cgroup of its own, naming it with a random token: what finds a member that left
// the session and whose parent died. It is evidence only for processes of the
// host's own user (a process of another user could copy it), and unguessable.
const MarkerVar = "PAWWORK_SUPERVISOR_TREE"

// newMarker is "PAWWORK_SUPERVISOR_TREE=<128 random bits in hex>".
func newMarker() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux (getrandom)
	}
	return MarkerVar + "=" + hex.EncodeToString(b[:])
}

// hostUIDs are the uids whose processes marker evidence may name: the host's real
// and effective uid (the spawn never changes the child's uid).
var hostUIDs = [2]int{os.Getuid(), os.Geteuid()}

// live holds the trees started through the helper and not yet reaped, for the
// attribution of orphans; released, the leftovers let go at natural exit.
var live = struct {
	sync.Mutex
	trees    map[*proc]bool
	released map[procKey]bool
	spawning map[*uint64]bool // boot-time ticks at which each spawn through the helper now in flight began
}{trees: map[*proc]bool{}, released: map[procKey]bool{}, spawning: map[*uint64]bool{}}

// bootTicks is now in the unit of a process's start time: clock ticks since boot.
// The monotonic clock, never ahead of the boot-time clock start times are read
// from (kernels before 5.3 used the monotonic one): errs on the early side.
func bootTicks() uint64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return 0
	}
	return uint64(ts.Nano()) / uint64(time.Second/100) // USER_HZ is 100 on Linux
}

func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	mark := newMarker()
	marked := append(env[:len(env):len(env)], mark)
	p := &proc{}
	if c, _ := getHelper(); c != nil {
		// With a cgroup the tree is its cgroup: the environment stays exactly the
		// one given. (Should the helper fail to place this tree in one, the tree has
		// neither; containment() says so.)
		cenv := marked
		if c.cgroup != "" {
			cenv = env
		}
		// Until it is in live.trees, the new leader is a child of the helper that
		// no tree owns: other trees must not take it for their orphan.
		since := bootTicks()
		if since > 0 {
			since-- // start times are truncated to the tick
		}
		live.Lock()
		live.spawning[&since] = true
		live.Unlock()
		pid, pidfd, id, cgroup, exit, err := c.spawn(path, o.Argv, cenv, o.Cwd, files)
		defer func() {
			live.Lock()
			delete(live.spawning, &since)
			live.Unlock()
		}()
		switch {
		case err == nil:
			p.pid, p.helper, p.hid, p.exit, p.cgroup = pid, c, id, exit, cgroup
			if c.cgroup == "" {
				p.marker = append([]byte(mark), 0)
			}
			if pidfd >= 0 {
				unix.SetNonblock(pidfd, true)
				p.pidf = os.NewFile(uintptr(pidfd), "pidfd")
			}
			if st, ok := readStat(pid); ok {
				p.start = st.start
			}
			live.Lock()
			live.trees[p] = true
			live.Unlock()
			return p, nil
		case err != errHelperUnusable:
			return nil, err
		}
		// The helper died before it took the request: spawn directly, with weaker
		// containment (the outcome says so).
	}
	env = marked
	p.marker = append([]byte(mark), 0)
	pidfd := -1
	attr := startAttr(o, env, files, &syscall.SysProcAttr{PidFD: &pidfd})
	pid, err := forkExecUnmasked(path, o.Argv, attr)
	if err != nil {
		return nil, err
	}
	p.pid = pid
	if st, ok := readStat(pid); ok {
		p.start = st.start
	}
	if pidfd < 0 {
		// clone3 unavailable: pidfd_open is safe here because the child cannot be
		// reaped by anyone but us.
		pidfd, _ = unix.PidfdOpen(pid, 0)
	}
	if pidfd >= 0 {
		// Non-blocking so that os.NewFile hands it to the netpoller: waiting costs no
		// thread, whatever the number of children.
		unix.SetNonblock(pidfd, true)
		p.pidf = os.NewFile(uintptr(pidfd), "pidfd")
	}
	return p, nil
}

// forkExecUnmasked is ForkExec with an empty signal mask in the child. Go's
// ForkExec gives the child the mask of the calling thread (runtime_BeforeFork saves
// it, the child restores it before exec), and the host may call in from a thread
// that blocks signals (a native thread, or one started while the loader blocked
// them around the Go runtime's start): the child would then start with SIGTERM
// blocked and the ladder's first step would do nothing. So the calling thread's
// mask is emptied for the fork and restored after it. (Ignored signals are not
// reset: ForkExec cannot; the Go runtime resets those it handles, SIGPIPE among
// them.)
func forkExecUnmasked(path string, argv []string, attr *syscall.ProcAttr) (int, error) {
	defer blocking()()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var empty, old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &empty, &old); err != nil {
		return syscall.ForkExec(path, argv, attr)
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return pid, err
}

// siginfo's SIGCHLD fields, at their offsets in the 64-bit kernel layout.
type sigchld struct {
	signo, errno, code, _ int32
	pid, uid, status      int32
}

const (
	cldExited = 1
)

func (p *proc) status(info *unix.Siginfo) exitStatus {
	si := (*sigchld)(unsafe.Pointer(info))
	if si.code == cldExited {
		return exitStatus{code: int(si.status)}
	}
	return exitStatus{signal: int(si.status)}
}

// wait blocks until the leader exits but does not reap it (WNOWAIT): its pid, and so
// its group and session ids, stay reserved until reap.
func (p *proc) wait() (exitStatus, error) {
	if p.helper != nil {
		if m, ok := <-p.exit; ok {
			return exitStatus{code: m.Code, signal: m.Signal}, nil
		}
		// The helper died before the leader: the leader is pid 1's now (or died
		// with the helper). Wait for its end; how it ended is lost.
		p.waitGone()
		return exitStatus{code: -1}, errors.New("the helper died before the leader: its exit status is unknown")
	}
	var info unix.Siginfo
	if p.pidf != nil {
		if rc, err := p.pidf.SyscallConn(); err == nil {
			var werr error
			waited := false
			rerr := rc.Read(func(fd uintptr) bool {
				for {
					info = unix.Siginfo{}
					werr = unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
					if werr == unix.EINTR {
						continue
					}
					if werr == unix.EAGAIN {
						return false // not yet: wait for the pidfd to become readable
					}
					waited = werr != nil || (*sigchld)(unsafe.Pointer(&info)).pid != 0
					return waited
				}
			})
			if rerr == nil && waited {
				if werr != nil {
					return exitStatus{code: -1}, werr
				}
				return p.status(&info), nil
			}
			// The pidfd could not be polled: fall back to polling below.
		}
	}
	if err := waitPoll(p.pid, &info); err != nil {
		return exitStatus{code: -1}, err
	}
	return p.status(&info), nil
}

// waitGone waits for the pidfd to report the process's end (any parent).
func (p *proc) waitGone() {
	if p.pidf == nil {
		for syscall.Kill(p.pid, 0) == nil {
			time.Sleep(50 * time.Millisecond)
		}
		return
	}
	rc, err := p.pidf.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(fds, 0)
		return n > 0
	})
}

// reapBound caps the wait for the helper's "reaped" (it reaps at once; a helper that
// does not answer in time is reported in the outcome's errors).
const reapBound = 2 * time.Second

func (p *proc) reap() {
	p.mu.Lock()
	if p.reaped {
		p.mu.Unlock()
		return
	}
	p.reaped = true
	if p.helper == nil {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(p.pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
	}
	if p.pidf != nil {
		p.pidf.Close()
	}
	p.mu.Unlock()
	if p.helper != nil {
		p.reapViaHelper()
	}
}

// reapViaHelper asks the helper to reap the leader. It reaps the leader and every
// zombie it holds then (the tree's killed members among them) and says so: "gone"
// means reaped, so that the outcome never settles while a pid of the tree still
// shows in /proc. Waited for without p.mu held (bounded by reapBound, reported).
func (p *proc) reapViaHelper() {
	done := p.helper.awaitReaped(p.hid)
	err := p.helper.send(helperMsg{Op: "reap", ID: p.hid}, nil)
	live.Lock()
	delete(live.trees, p)
	live.Unlock()
	if err == nil {
		select {
		case <-done:
		case <-time.After(reapBound):
			p.note(fmt.Sprintf("the helper did not confirm reaping the tree within %v", reapBound))
		}
	}
	p.helper.forget(p.hid)
}

func (p *proc) signalLeader(sig int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	if p.pidf != nil {
		rc, err := p.pidf.SyscallConn()
		if err == nil {
			var serr error
			rc.Control(func(fd uintptr) { serr = unix.PidfdSendSignal(int(fd), unix.Signal(sig), nil, 0) })
			if serr == unix.ESRCH {
				return nil
			}
			return serr
		}
	}
	return unix.Kill(p.pid, unix.Signal(sig))
}

func (p *proc) containment() string {
	s := "session+pgroup+pidfd+ancestry"
	switch {
	case p.cgroup != "":
		s = "helper+cgroup+" + s
	case p.helper != nil:
		s = "helper+" + s
	}
	if p.marker != nil {
		s += "+marker"
	}
	return s
}

// letGo lets leftovers go at natural exit: the helper will not kill them when
// the host dies, and they are never attributed to another tree.
func (p *proc) letGo(pids []int) {
	if p.helper == nil || len(pids) == 0 {
		return
	}
	live.Lock()
	for _, pid := range pids {
		if st, ok := readStat(pid); ok {
			live.released[procKey{pid, st.start}] = true
		}
	}
	live.Unlock()
	p.helper.send(helperMsg{Op: "release", ID: p.hid, Pids: pids}, nil)
}

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
		os.WriteFile(p.cgroup+"/cgroup.kill", []byte("1"), 0)
	}
	for _, st := range p.tree() {
		p.remember(st)
		signalMember(st, unix.Signal(sig))
	}
}

// remember records a member a cancel signalled (bounded by the tree's size: entries
// of processes that are gone are dropped by unreaped).
func (p *proc) remember(st procStat) {
	p.mu.Lock()
	if p.signalled == nil {
		p.signalled = map[procKey]bool{}
	}
	p.signalled[procKey{st.pid, st.start}] = true
	p.mu.Unlock()
}

// signalMember signals the process st describes through a pidfd, if it is still
// that process (same start time) and not a zombie: a re-used pid is never hit. It
// says whether the signal reached it (false when it was gone, a zombie, or its pid
// was re-used).
func signalMember(st procStat, sig unix.Signal) bool {
	fd, err := unix.PidfdOpen(st.pid, 0)
	if err != nil {
		if err == unix.ENOSYS {
			if now, ok := readStat(st.pid); ok && now.start == st.start && now.state != 'Z' && now.state != 'X' {
				return unix.Kill(st.pid, sig) == nil
			}
		}
		return false
	}
	defer unix.Close(fd)
	if now, ok := readStat(st.pid); ok && now.start == st.start && now.state != 'Z' && now.state != 'X' {
		return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
	}
	return false
}

func (p *proc) isReaped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reaped
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
// read of the member's stat hands the tree on to a child the scan never saw (a
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
			signalMember(st, unix.SIGSTOP)
		}
		return
	}
	known := map[procKey]bool{}
	var slipped []int
	quiet := 0
	deadline := time.Now().Add(freezeBound)
	for round := 0; round < freezeRounds && time.Now().Before(deadline); round++ {
		fresh := 0
		for _, st := range p.tree() {
			key := procKey{st.pid, st.start}
			if known[key] {
				continue
			}
			known[key] = true
			fresh++
			p.remember(st)
			if !signalMember(st, unix.SIGSTOP) && p.orphansUntraceable(key) {
				slipped = append(slipped, st.pid)
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
func (p *proc) orphansUntraceable(key procKey) bool {
	p.mu.Lock()
	m := p.marked[key]
	p.mu.Unlock()
	if !m.sure || m.has {
		return false
	}
	if p.helper == nil {
		return true
	}
	live.Lock()
	defer live.Unlock()
	return len(live.trees) > 1
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
		out = append(out, st.pid)
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
	defer blocking()() // reads /proc: within the thread bound (threads.go)
	helperPid := p.helper.pid
	p.mu.Lock()
	if !p.cancelled {
		p.mu.Unlock()
		return nil // nothing was killed
	}
	keys := make([]procKey, 0, len(p.signalled))
	for key := range p.signalled {
		keys = append(keys, key)
	}
	p.mu.Unlock()
	var out []int
	listed := map[int]bool{}
	signalledPids := make(map[int]bool, len(keys))
	for _, key := range keys {
		signalledPids[key.pid] = true
	}
	for _, key := range keys {
		st, ok := readStat(key.pid)
		if !ok || st.start != key.start {
			p.mu.Lock()
			delete(p.signalled, key)
			p.mu.Unlock()
			continue
		}
		zombie := st.state == 'Z' || st.state == 'X'
		// A zombie under the helper, or under another member (it goes to the helper
		// once that one is reaped), waits for its reaping; a killed member that is
		// not a zombie yet is still exiting (it left its cgroup's procs list before
		// it became one, so the cgroup says empty): none of them is gone. Only a
		// zombie of a process outside the tree (pid 1) is not ours to wait for.
		if key.pid != p.pid && (!zombie || st.ppid == helperPid || signalledPids[st.ppid]) {
			out = append(out, key.pid)
			listed[key.pid] = true
		}
	}
	for _, k := range childrenOf(helperPid) {
		if k == p.pid || listed[k] {
			continue
		}
		st, ok := readStat(k)
		if !ok || (st.state != 'Z' && st.state != 'X') || st.start < p.start || p.orphanHasOtherOwner(st) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// tree finds the live members (see proc).
func (p *proc) tree() []procStat {
	defer blocking()()
	if out, ok := p.cgroupTree(); ok {
		return out
	}
	all, kids := liveTable()
	self := os.Getpid()
	helperPid := 0
	if p.helper != nil {
		helperPid = p.helper.pid
	}
	in := map[int]bool{}
	var out []procStat
	var add func(pid int)
	add = func(pid int) {
		if in[pid] || pid == self || pid == helperPid {
			return
		}
		in[pid] = true
		out = append(out, all[pid])
		for _, k := range kids[pid] {
			add(k)
		}
	}
	p.mu.Lock()
	if p.marked == nil {
		p.marked = map[procKey]markCheck{}
	}
	seen := map[procKey]bool{}
	for pid, st := range all {
		key := procKey{pid, st.start}
		seen[key] = true
		if pid == p.pid || st.sid == p.pid || st.pgid == p.pid {
			add(pid)
			continue
		}
		// Only the leader's descendants carry the marker, and they all started
		// after it: the older processes of the machine need no environ read (at
		// every natural exit this scan runs over all of them).
		if p.marker == nil || st.start < p.start {
			continue
		}
		m := p.marked[key]
		if !m.sure && m.tries < 3 {
			has, sure := environHas(pid, p.marker)
			if has {
				// Evidence a process of another user could forge by copying the
				// variable: it counts only for the host's own user.
				has = ownUser(pid)
			}
			m = markCheck{has: has, sure: sure, tries: m.tries + 1}
			p.marked[key] = m
		}
		if m.has {
			add(pid)
		}
	}
	for key := range p.marked {
		if !seen[key] {
			delete(p.marked, key)
		}
	}
	p.mu.Unlock()
	if p.cgroup != "" {
		// Exact: whatever the tree did, its processes are in its cgroup (unless a
		// privileged one moved itself out; the other means still apply to those).
		if b, err := os.ReadFile(p.cgroup + "/cgroup.procs"); err == nil {
			for _, f := range bytes.Fields(b) {
				if pid, err := strconv.Atoi(string(f)); err == nil {
					if _, ok := all[pid]; ok {
						add(pid)
					}
				}
			}
		}
	} else if helperPid != 0 {
		// Orphans of the helper that nothing else ties to a tree (a double-forked
		// daemon that cleared its environment and left the session): ours only if no
		// other live tree of this host could have started them. Besides the scan's,
		// a fresh look at the helper's children: the scan's listing of /proc is
		// milliseconds old by now, and a member that forked and exited since handed
		// the tree on to a child the listing missed — the helper's child now.
		for _, k := range kids[helperPid] {
			st := all[k]
			if in[k] || st.start < p.start || p.orphanHasOtherOwner(st) {
				continue
			}
			add(k)
		}
		for _, k := range childrenOf(helperPid) {
			if in[k] {
				continue
			}
			st, ok := all[k]
			if !ok {
				if st, ok = readStat(k); !ok || st.state == 'Z' || st.state == 'X' {
					continue
				}
				all[k] = st
			}
			if st.start < p.start || p.orphanHasOtherOwner(st) {
				continue
			}
			add(k)
		}
	} else if p.marker != nil {
		// No helper: a member's orphans go to the nearest subreaper above it — one
		// of the host's ancestors, or pid 1. A fresh look at their children finds
		// a re-forker's latest incarnation the scan's listing missed; only the
		// marker (of the host's user) makes one of them ours.
		for _, k := range landedOrphans(self) {
			if _, listed := all[k]; listed || in[k] {
				continue // the scan judged it already
			}
			st, ok := readStat(k)
			if !ok || st.state == 'Z' || st.state == 'X' || st.start < p.start {
				continue
			}
			if has, _ := environHas(k, p.marker); has && ownUser(k) {
				all[k] = st
				add(k)
			}
		}
	}
	return out
}

// landedOrphans lists, as they are now, the children of the processes an orphan
// of a tree can re-parent to without the helper: the host and its ancestors (any
// may be a subreaper) up to pid 1.
func landedOrphans(self int) []int {
	out := childrenOf(self)
	for pid, hops := self, 0; pid > 1 && hops < 64; hops++ {
		st, ok := readStat(pid)
		if !ok {
			break
		}
		pid = st.ppid
		if pid < 1 {
			break
		}
		out = append(out, childrenOf(pid)...)
		if pid == 1 {
			break
		}
	}
	return out
}

// childrenOf lists pid's children as they are now (/proc/<pid>/task/<tid>/children
// of each thread: the orphans a subreaper adopts go to any of its threads), zombies
// included. Empty when the kernel lacks the file.
func childrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	tids, _ := d.Readdirnames(-1)
	d.Close()
	var out []int
	for _, tid := range tids {
		b, err := os.ReadFile(dir + "/" + tid + "/children")
		if err != nil {
			continue
		}
		for _, f := range bytes.Fields(b) {
			if k, err := strconv.Atoi(string(f)); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// ownUser reports whether pid's real uid is the host's: a process of another user
// is never signalled on marker evidence alone.
func ownUser(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	i := bytes.Index(b, []byte("\nUid:"))
	if i < 0 {
		return false
	}
	f := bytes.Fields(b[i+5:])
	if len(f) == 0 {
		return false
	}
	uid, err := strconv.Atoi(string(f[0]))
	return err == nil && (uid == hostUIDs[0] || uid == hostUIDs[1])
}

// cgroupTree lists the live members from the tree's cgroup alone: exact, and it costs
// a stat per member instead of a scan of every process on the machine (which a fork
// storm elsewhere makes slow). Not ok when there is no cgroup or it cannot be read.
func (p *proc) cgroupTree() ([]procStat, bool) {
	if p.cgroup == "" {
		return nil, false
	}
	b, err := os.ReadFile(p.cgroup + "/cgroup.procs")
	if err != nil {
		return nil, false
	}
	var out []procStat
	for _, f := range bytes.Fields(b) {
		pid, err := strconv.Atoi(string(f))
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok && st.state != 'Z' && st.state != 'X' {
			out = append(out, st)
		}
	}
	return out, true
}

// orphanHasOtherOwner: st is a leader, a released leftover, maybe a leader the
// helper is starting right now, or another live tree started no later than it (so
// could be its parent's owner).
func (p *proc) orphanHasOtherOwner(st procStat) bool {
	live.Lock()
	defer live.Unlock()
	if live.released[procKey{st.pid, st.start}] {
		return true
	}
	for since := range live.spawning {
		if st.start >= *since {
			return true // maybe a leader being started
		}
	}
	for q := range live.trees {
		if q.pid == st.pid {
			return true
		}
		if q != p && q.helper == p.helper && q.start <= st.start {
			return true
		}
	}
	return false
}

// environHas reports whether the environment pid was started with holds marker;
// sure is false when there was nothing to read (a kernel thread, a process inside
// execve whose new environment is not set up yet, one that is exiting, or an empty
// environment) or the read failed: worth another look at the next scan.
func environHas(pid int, marker []byte) (has, sure bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(b) == 0 {
		return false, false
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return bytes.Equal(append(b, 0), marker), true
		}
		if bytes.Equal(b[:i+1], marker) {
			return true, true
		}
		b = b[i+1:]
	}
	return false, true
}

type procStat struct {
	pid, ppid, pgid, sid int
	state                byte
	start                uint64 // clock ticks after boot
}

// readStat parses /proc/<pid>/stat; comm may hold spaces and parentheses, so the
// fields are taken after its last ')'.
func readStat(pid int) (procStat, bool) {
	var buf [512]byte
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return procStat{}, false
	}
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return procStat{}, false
	}
	b := buf[:n]
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, false
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 20 {
		return procStat{}, false
	}
	st := procStat{pid: pid, state: f[0][0]}
	st.ppid, _ = strconv.Atoi(string(f[1]))
	st.pgid, _ = strconv.Atoi(string(f[2]))
	st.sid, _ = strconv.Atoi(string(f[3]))
	st.start, _ = strconv.ParseUint(string(f[19]), 10, 64)
	return st, true
}

// liveTable is one scan of /proc: every live (non-zombie) process, and the children
// of each pid.
func liveTable() (all map[int]procStat, kids map[int][]int) {
	all, kids = map[int]procStat{}, map[int][]int{}
	scanProc(func(st procStat) {
		if st.state == 'Z' || st.state == 'X' {
			return
		}
		all[st.pid] = st
		kids[st.ppid] = append(kids[st.ppid], st.pid)
	})
	return all, kids
}

// scanProc calls fn for every process in /proc.
func scanProc(fn func(procStat)) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, ok := readStat(pid); ok {
			fn(st)
		}
	}
}
