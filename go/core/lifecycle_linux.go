package core

// The leader's lifecycle on Linux: start (through the helper, or directly), wait
// for its exit without reaping it, signal it, reap it.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/pidfd"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

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
		// Until it is in helperTrees, the new leader is a child of the helper that
		// no tree owns: other trees must not take it for their orphan.
		since := bootTicks()
		if since > 0 {
			since-- // start times are truncated to the tick
		}
		helperTrees.Lock()
		helperTrees.spawning[&since] = true
		helperTrees.Unlock()
		// With a cgroup, and a kernel that signals a group through a pidfd, the
		// helper may reap an emptied tree's leader at its exit by itself.
		autoReap := c.cgroup != "" && procfs.GroupSignalPinned()
		sp, err := c.spawn(path, o.Argv, cenv, o.Cwd, o.Terminal != nil, autoReap, files)
		defer func() {
			helperTrees.Lock()
			delete(helperTrees.spawning, &since)
			helperTrees.Unlock()
		}()
		switch {
		case err == nil:
			p.pid, p.helper, p.hid, p.exit, p.cgroup = sp.pid, c, sp.id, sp.exit, sp.cgroup
			if c.cgroup == "" {
				p.marker = append([]byte(mark), 0)
			}
			// No pidfd is kept for a leader of the helper (one fd fewer per child;
			// an older helper still sends one): the leader stays the helper's
			// unreaped child until our reap (or, with autoReap, the helper's at
			// its exit), its exit comes as the helper's message, and a signal to
			// it alone goes through a pidfd opened then and checked against its
			// start time (signalLeader), which holds even once the helper died and
			// pid 1 may have reaped it.
			if sp.pidfd >= 0 {
				unix.Close(sp.pidfd)
			}
			p.start, p.autoReap = sp.ticks, sp.autoReap
			if p.start == 0 {
				if st, ok := procfs.ReadStat(p.pid); ok {
					p.start = st.Start
				}
			}
			helperTrees.Lock()
			helperTrees.trees[p] = true
			helperTrees.Unlock()
			leaders.add(p.pid)
			return p, nil
		case err != errHelperUnusable:
			return nil, err
		}
		// The helper died before it took the request: spawn directly, with weaker
		// containment (the outcome says so).
	}
	env = marked
	p.marker = append([]byte(mark), 0)
	pfd := -1
	attr := startAttr(o, env, files, &syscall.SysProcAttr{PidFD: &pfd})
	pid, err := forkExecUnmasked(path, o.Argv, attr)
	if err != nil {
		return nil, err
	}
	p.pid = pid
	leaders.add(pid)
	if st, ok := procfs.ReadStat(pid); ok {
		p.start = st.Start
	}
	if pfd >= 0 {
		// Pollable, so that waiting costs no thread, whatever the number of leaders.
		p.pidf = pidfd.Open(pfd)
	}
	return p, nil
}

// forkExecUnmasked is ForkExec with an empty signal mask in the new process. Go's
// ForkExec gives it the mask of the calling thread (runtime_BeforeFork saves it,
// the new process restores it before exec), and the host may call in from a thread
// that blocks signals (a native thread, or one started while the loader blocked
// them around the Go runtime's start): the leader would then start with SIGTERM
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
		return pidfd.ForkExec(path, argv, attr)
	}
	pid, err := pidfd.ForkExec(path, argv, attr)
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	return pid, err
}

// wait blocks until the leader exits but does not reap it (WNOWAIT): its pid, and so
// its group and session ids, stay reserved until reap.
func (p *proc) wait() (exitStatus, error) {
	defer p.ended.Store(true)
	if p.helper != nil {
		if m, ok := <-p.exit; ok {
			if m.Reaped && p.autoReap {
				// The helper reaped the leader and its tree, found empty: the
				// cgroup stays empty (and is being removed), and no reap follows.
				p.cgEmpty.Store(true)
				p.helperReaped.Store(true)
			}
			return exitStatus{code: m.Code, signal: m.Signal}, nil
		}
		// The helper died before the leader: the leader is pid 1's now (or died
		// with the helper). Wait for its end; how it ended is lost.
		p.waitGone()
		return exitStatus{code: -1}, errors.New("the helper died before the leader: its exit status is unknown")
	}
	st, err := pidfd.Wait(p.pidf, p.pid)
	return exitStatus{code: st.Code, signal: st.Signal}, err
}

// waitGone waits for the pidfd to report the process's end (any parent).
func (p *proc) waitGone() {
	pidf := p.pidf
	if pidf == nil && p.start != 0 {
		// A leader of the helper: pinned now, if it is still the process we
		// started (its start time, read after the pidfd pinned it).
		if fd, err := unix.PidfdOpen(p.pid, 0); err == nil {
			if st, ok := procfs.ReadStat(p.pid); !ok || st.Start != p.start || st.Dead() {
				unix.Close(fd)
				return
			}
			pidf = pidfd.Open(fd)
			defer pidf.Close()
		}
	}
	if pidf == nil {
		for p.sameLeaderAlive() {
			time.Sleep(50 * time.Millisecond)
		}
		return
	}
	rc, err := pidf.SyscallConn()
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
	p.reaped = true       // from now on nothing signals the leader or its group
	leaders.remove(p.pid) // before the reap frees the pid
	var ours map[procfs.Key]bool
	adopts := p.helper == nil && hostAdopts()
	if adopts {
		ours = p.treeKeysLocked()
	}
	p.mu.Unlock()
	if adopts {
		p.reapAdopted(ours) // while the leader's pid still names its session and group
	}
	if p.helper == nil {
		pidfd.Reap(p.pid)
	}
	if p.pidf != nil {
		p.pidf.Close() // no one else uses it once reaped is set
	}
	if p.helper != nil {
		p.reapViaHelper()
	}
}

// treeKeysLocked copies the members a cancel signalled or a walk knew (p.mu held).
func (p *proc) treeKeysLocked() map[procfs.Key]bool {
	keys := make(map[procfs.Key]bool, len(p.signalled)+len(p.known))
	for k := range p.signalled {
		keys[k] = true
	}
	for k := range p.known {
		keys[k] = true
	}
	return keys
}

// reapAdopted reaps the zombies of the tree that landed on the host, where the
// host adopts orphans (pid 1 of its pid namespace, or a child subreaper) and runs
// the tree without the helper: nothing else would reap them (Node reaps only the
// children it started), and each would hold a pid until the host ends. A zombie
// child of the host is the tree's if it is in the leader's session or group (the
// unreaped leader's pid names both, so they are no one else's) or is one of ours
// (a cancel signalled it or a walk knew it: an escaper that left both). Each is
// pinned by a pidfd and checked against its start time before it is reaped, so a
// pid re-used meanwhile is never waited for. Members still alive were let go or
// were not ours to kill; they are left alone. Without p.mu: /proc is read here.
func (p *proc) reapAdopted(ours map[procfs.Key]bool) {
	self := os.Getpid()
	for _, pid := range procfs.AdoptedBy(self) {
		if pid == p.pid {
			continue
		}
		st, ok := procfs.ReadStat(pid)
		if !ok || st.PPid != self || !st.Dead() {
			continue
		}
		if p.inSession(st) || ours[st.Key()] {
			procfs.Reap(st)
		}
	}
}

// reapViaHelper asks the helper to reap the leader. It reaps the leader and every
// zombie it holds then (the tree's killed members among them) and says so: "gone"
// means reaped, so that the outcome never settles while a pid of the tree still
// shows in /proc. Waited for without p.mu held (bounded by reapBound, reported).
func (p *proc) reapViaHelper() {
	if p.helperReaped.Load() {
		// Reaped at its exit, with the tree's zombies (autoReap).
		helperTrees.Lock()
		delete(helperTrees.trees, p)
		helperTrees.Unlock()
		p.helper.forget(p.hid)
		return
	}
	done := p.helper.awaitReaped(p.hid)
	err := p.helper.send(wire.Msg{Op: "reap", ID: p.hid}, nil)
	helperTrees.Lock()
	delete(helperTrees.trees, p)
	helperTrees.Unlock()
	if err == nil {
		select {
		case <-done:
		case <-time.After(reapBound):
			p.note(fmt.Sprintf("the helper did not confirm reaping the tree within %v", reapBound))
		}
	}
	p.helper.forget(p.hid)
}

// sameLeaderAlive: the leader's pid names a live process started when the leader
// was (a kernel without pidfds).
func (p *proc) sameLeaderAlive() bool {
	st, ok := procfs.ReadStat(p.pid)
	return ok && !st.Dead() && (p.start == 0 || st.Start == p.start)
}

func (p *proc) signalLeader(sig int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	if p.pidf == nil && p.helper != nil && p.start != 0 {
		// A leader of the helper (no pidfd kept): through a pidfd opened now,
		// checked against its start time; a zombie or a re-used pid is left alone.
		procfs.Signal(procfs.Stat{Pid: p.pid, Start: p.start}, unix.Signal(sig))
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

func (p *proc) isReaped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reaped
}
