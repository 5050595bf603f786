package core

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// proc is a started leader on Linux. Its tree is its session plus its process group
// (the leader is both), found by scanning /proc and signalled through pidfds so that
// a pid re-used after a member died is never hit.
type proc struct {
	pid  int
	pidf *os.File // pollable pidfd; nil if the kernel has none

	mu     sync.Mutex
	reaped bool
}

func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	pidfd := -1
	attr := startAttr(o, env, files, &syscall.SysProcAttr{PidFD: &pidfd})
	pid, err := forkExecUnmasked(path, o.Argv, attr)
	if err != nil {
		return nil, err
	}
	p := &proc{pid: pid}
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
			// The pidfd could not be polled: fall back to a blocking wait below
			// (one thread for this child).
		}
	}
	for {
		info = unix.Siginfo{}
		err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return exitStatus{code: -1}, err
		}
		return p.status(&info), nil
	}
}

func (p *proc) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
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

func (p *proc) containment() string { return "session+pgroup+pidfd" }

// signalTree sends sig to the group at once (atomic for its members; only while the
// leader is unreaped, so the group id cannot be someone else's), then to every other
// member of the session one by one through a pidfd, each confirmed still a member
// after the pidfd pinned it.
func (p *proc) signalTree(sig int) {
	p.mu.Lock()
	if !p.reaped {
		unix.Kill(-p.pid, unix.Signal(sig))
	}
	p.mu.Unlock()
	for _, pid := range p.members() {
		signalMember(pid, sig, p.isMember)
	}
}

// freezeTree stops every member so that none can fork between the last scan and
// SIGKILL (SIGKILL still ends a stopped process).
func (p *proc) freezeTree() { p.signalTree(int(unix.SIGSTOP)) }

func (p *proc) isMember(st procStat) bool {
	return st.sid == p.pid || st.pgid == p.pid
}

// members lists the live (non-zombie) processes of the tree, leader included while
// it runs.
func (p *proc) members() []int {
	var out []int
	scanProc(func(st procStat) {
		if p.isMember(st) && st.state != 'Z' && st.state != 'X' {
			out = append(out, st.pid)
		}
	})
	return out
}

func signalMember(pid, sig int, still func(procStat) bool) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if err == unix.ENOSYS {
			// No pidfds (kernel < 5.3): signal by pid, re-checked just before.
			if st, ok := readStat(pid); ok && still(st) {
				unix.Kill(pid, unix.Signal(sig))
			}
		}
		return
	}
	defer unix.Close(fd)
	if st, ok := readStat(pid); ok && still(st) {
		unix.PidfdSendSignal(fd, unix.Signal(sig), nil, 0)
	}
}

type procStat struct {
	pid, ppid, pgid, sid int
	state                byte
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
	if len(f) < 4 {
		return procStat{}, false
	}
	st := procStat{pid: pid, state: f[0][0]}
	st.ppid, _ = strconv.Atoi(string(f[1]))
	st.pgid, _ = strconv.Atoi(string(f[2]))
	st.sid, _ = strconv.Atoi(string(f[3]))
	return st, true
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
	kids := map[int][]int{}
	scanProc(func(st procStat) {
		if st.state != 'Z' && st.state != 'X' {
			kids[st.ppid] = append(kids[st.ppid], st.pid)
		}
	})
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
