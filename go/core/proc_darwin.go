package core

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// proc is a started leader on macOS. There are no pidfds and no WNOWAIT wait in
// the Go runtime here: the tree is the leader's process group plus the descendants
// of its members, read from the kernel's process table (sysctl kern.proc.all).
// Weaker than Linux: a member that left the group and whose parent died is missed.
type proc struct {
	pid int

	mu     sync.Mutex
	reaped bool
}

func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	pid, err := syscall.ForkExec(path, o.Argv, startAttr(o, env, files, &syscall.SysProcAttr{}))
	if err != nil {
		return nil, err
	}
	return &proc{pid: pid}, nil
}

// wait reaps the leader (one blocked thread per child while it runs).
func (p *proc) wait() (exitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		p.mu.Lock()
		p.reaped = true
		p.mu.Unlock()
		if err != nil {
			return exitStatus{code: -1}, err
		}
		if ws.Signaled() {
			return exitStatus{signal: int(ws.Signal())}, nil
		}
		return exitStatus{code: ws.ExitStatus()}, nil
	}
}

func (p *proc) reap() {}

func (p *proc) signalLeader(sig int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	return unix.Kill(p.pid, unix.Signal(sig))
}

func (p *proc) containment() string { return "pgroup+ptable" }

func (p *proc) signalTree(sig int) {
	members := p.members()
	if len(members) > 0 {
		// A group id stays reserved while the group has a member.
		unix.Kill(-p.pid, unix.Signal(sig))
	}
	for _, pid := range members {
		unix.Kill(pid, unix.Signal(sig))
	}
}

func (p *proc) freezeTree() { p.signalTree(int(unix.SIGSTOP)) }

func (p *proc) members() []int {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil
	}
	const zombie = 5 // SZOMB
	in := map[int]bool{}
	kids := map[int][]int{}
	for _, kp := range procs {
		pid := int(kp.Proc.P_pid)
		if kp.Proc.P_stat == zombie {
			continue
		}
		if int(kp.Eproc.Pgid) == p.pid {
			in[pid] = true
		}
		kids[int(kp.Eproc.Ppid)] = append(kids[int(kp.Eproc.Ppid)], pid)
	}
	var out []int
	queue := make([]int, 0, len(in))
	for pid := range in {
		queue = append(queue, pid)
	}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		out = append(out, pid)
		for _, k := range kids[pid] {
			if !in[k] {
				in[k] = true
				queue = append(queue, k)
			}
		}
	}
	return out
}

// Descendants lists every live descendant of pid, children first.
func Descendants(pid int) []int {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil
	}
	kids := map[int][]int{}
	for _, kp := range procs {
		kids[int(kp.Eproc.Ppid)] = append(kids[int(kp.Eproc.Ppid)], int(kp.Proc.P_pid))
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		for _, k := range kids[queue[0]] {
			if k != pid {
				out = append(out, k)
				queue = append(queue, k)
			}
		}
		queue = queue[1:]
	}
	return out
}

// release: nothing to hand back without a helper.
func (p *proc) release(pids []int) {}
