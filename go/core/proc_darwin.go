package core

import (
	"os"
	"strings"
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

// containment names the mechanisms that hold the tree, joined by "+" in the
// outcome: the leader's process group, and the process table's parent links for
// what left the group.
func (p *proc) containment() string { return strings.Join(darwinContainment, "+") }

var darwinContainment = []string{"pgroup", "ptable"}

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

// members lists the live members: the leader's process group, and everything
// below its members in the process table.
func (p *proc) members() []int {
	procs, ok := readKinfo()
	if !ok {
		return nil
	}
	var group []int
	kids := map[int][]int{}
	for _, kp := range procs {
		if kp.zombie {
			continue
		}
		if kp.pgid == p.pid {
			group = append(group, kp.pid)
		}
		kids[kp.ppid] = append(kids[kp.ppid], kp.pid)
	}
	return append(group, procTable{kids: kids}.below(group...)...)
}

// letGo: the leftovers are not held by anything to let go of (no helper).
func (p *proc) letGo(pids []int) {}
