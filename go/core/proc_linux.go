package core

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// proc is a started leader on Linux. Its tree is every process that is in its
// session or process group, that carries its marker in the environment it was
// started with, or that descends from any of those; with the helper, also the
// orphans that re-parented to the helper and can only be this tree's. Members are
// found by scanning /proc and signalled through pidfds, each re-checked to be the
// same process (same start time) after the pidfd pinned it, so that a pid re-used
// after a member died is never hit.
type proc struct {
	pid    int
	pidf   *os.File // pollable pidfd; nil if the kernel has none
	start  uint64   // the leader's start time, in clock ticks since boot
	marker []byte   // "PAWWORK_SUPERVISOR_TREE=<host pid>.<n>\x00", inherited by the tree

	// With the helper: the leader is the helper's child; it reports the exit and
	// reaps on our request.
	helper *helperConn
	hid    int64
	exit   chan helperMsg
	cgroup string // the tree's own cgroup v2 directory; "" when none

	mu     sync.Mutex
	reaped bool
	marked map[procKey]bool // environ checks already made
}

// procKey names one process for good: a pid plus its start time.
type procKey struct {
	pid   int
	start uint64
}

// MarkerVar is the environment variable every supervised tree inherits, naming it.
const MarkerVar = "PAWWORK_SUPERVISOR_TREE"

var markerSeq atomic.Int64

// live holds the trees started through the helper and not yet reaped, for the
// attribution of orphans; released, the leftovers let go at natural exit.
var live = struct {
	sync.Mutex
	trees    map[*proc]bool
	released map[procKey]bool
}{trees: map[*proc]bool{}, released: map[procKey]bool{}}

func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	mark := fmt.Sprintf("%s=%d.%d", MarkerVar, os.Getpid(), markerSeq.Add(1))
	env = append(env[:len(env):len(env)], mark)
	p := &proc{marker: append([]byte(mark), 0)}
	if c, _ := getHelper(); c != nil {
		pid, pidfd, id, cgroup, exit, err := c.spawn(path, o.Argv, env, o.Cwd, files)
		switch {
		case err == nil:
			p.pid, p.helper, p.hid, p.exit, p.cgroup = pid, c, id, exit, cgroup
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
		// The helper could not take it (it died, or the request is too large for
		// one message): spawn directly, with weaker containment.
	}
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

func (p *proc) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return
	}
	if p.helper != nil {
		p.helper.send(helperMsg{Op: "reap", ID: p.hid}, nil)
		p.helper.forget(p.hid)
		p.reaped = true
		if p.pidf != nil {
			p.pidf.Close()
		}
		live.Lock()
		delete(live.trees, p)
		live.Unlock()
		return
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.pid, &ws, 0, nil)
		if err != unix.EINTR {
			break
		}
	}
	p.reaped = true
	if p.pidf != nil {
		p.pidf.Close()
	}
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
	if p.cgroup != "" {
		return "helper+cgroup+session+pgroup+pidfd+ancestry+marker"
	}
	if p.helper != nil {
		return "helper+session+pgroup+pidfd+ancestry+marker"
	}
	return "session+pgroup+pidfd+ancestry+marker"
}

// release lets leftovers go at natural exit: the helper will not kill them when
// the host dies, and they are never attributed to another tree.
func (p *proc) release(pids []int) {
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
// pidfd pinned it.
func (p *proc) signalTree(sig int) {
	p.mu.Lock()
	if !p.reaped {
		unix.Kill(-p.pid, unix.Signal(sig))
	}
	p.mu.Unlock()
	if sig == sigKILL && p.cgroup != "" && !p.isReaped() {
		// Every process in the tree's cgroup at once, forks in flight included.
		os.WriteFile(p.cgroup+"/cgroup.kill", []byte("1"), 0)
	}
	for _, st := range p.tree() {
		signalStat(st, unix.Signal(sig))
	}
}

func (p *proc) isReaped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reaped
}

// freezeTree stops every member so that none can fork between the last scan and
// SIGKILL (SIGKILL still ends a stopped process).
func (p *proc) freezeTree() { p.signalTree(int(unix.SIGSTOP)) }

// members lists the live (non-zombie) processes of the tree, leader included while
// it runs.
func (p *proc) members() []int {
	var out []int
	for _, st := range p.tree() {
		out = append(out, st.pid)
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
		p.marked = map[procKey]bool{}
	}
	seen := map[procKey]bool{}
	for pid, st := range all {
		key := procKey{pid, st.start}
		seen[key] = true
		if pid == p.pid || st.sid == p.pid || st.pgid == p.pid {
			add(pid)
			continue
		}
		has, known := p.marked[key]
		if !known {
			// Only the leader's descendants carry the marker, and they all started
			// after it: the older processes of the machine need no environ read (at
			// every natural exit this scan runs over all of them).
			has = st.start >= p.start && environHas(pid, p.marker)
			p.marked[key] = has
		}
		if has {
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
		// other live tree of this host could have started them.
		for _, k := range kids[helperPid] {
			st := all[k]
			if in[k] || st.start < p.start || p.orphanHasOtherOwner(st) {
				continue
			}
			add(k)
		}
	}
	return out
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

// orphanHasOtherOwner: st is a leader, a released leftover, or another live tree
// started no later than it (so could be its parent's owner).
func (p *proc) orphanHasOtherOwner(st procStat) bool {
	live.Lock()
	defer live.Unlock()
	if live.released[procKey{st.pid, st.start}] {
		return true
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

// environHas reports whether the environment pid was started with holds marker.
func environHas(pid int, marker []byte) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return bytes.Equal(append(b, 0), marker)
		}
		if bytes.Equal(b[:i+1], marker) {
			return true
		}
		b = b[i+1:]
	}
	return false
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

// Descendants lists every live descendant of pid, children first.
func Descendants(pid int) []int {
	defer blocking()()
	_, kids := liveTable()
	var out []int
	queue := []int{pid}
	seen := map[int]bool{pid: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, k := range kids[p] {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
				queue = append(queue, k)
			}
		}
	}
	return out
}
