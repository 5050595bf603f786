package core

import (
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// proc is a started leader on macOS. There are no pidfds and no WNOWAIT wait in
// the Go runtime here: the tree is the leader's process group plus the descendants
// of its members, read from the kernel's process table (sysctl kern.proc.all).
// Weaker than Linux: a member that left the group and whose parent died is missed.
// With the helper up (helperclient_darwin.go), the leader is registered with it at
// once, and the helper kills the tree when the host dies.
type proc struct {
	pid    int
	helper *helperConn // the helper the tree is registered with; nil if none
	hid    int64       // the tree's id there

	mu         sync.Mutex
	reaped     bool
	helperDone bool // the helper was told the leader is reaped
}

func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	// The helper first: a new one's hello is waited for here, not between the fork
	// and the registration.
	conn, _ := getHelper()
	pid, err := syscall.ForkExec(path, o.Argv, startAttr(o, env, files, &syscall.SysProcAttr{}))
	if err != nil {
		return nil, err
	}
	p := &proc{pid: pid}
	if conn != nil {
		// Before wait() can reap the leader: its pid is still its own.
		if p.hid = conn.watch(pid); p.hid != 0 {
			p.helper = conn
		}
	}
	return p, nil
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

// reap tells the helper the host is done with the exited leader: it keeps only
// the tree's leftovers (killed at the host's death unless let go).
func (p *proc) reap() {
	p.mu.Lock()
	told := p.helperDone
	p.helperDone = true
	p.mu.Unlock()
	if p.helper != nil && !told {
		p.helper.send(wire.Msg{Op: "reap", ID: p.hid})
	}
}

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
func (p *proc) containment() string {
	if p.helper != nil {
		return strings.Join(append([]string{"helper"}, darwinContainment...), "+")
	}
	return strings.Join(darwinContainment, "+")
}

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

// letGo lets leftovers go at natural exit: the helper will not kill them (nor
// what they start) when the host dies.
func (p *proc) letGo(pids []int) {
	if p.helper != nil && len(pids) > 0 {
		p.helper.send(wire.Msg{Op: "letgo", ID: p.hid, Pids: pids})
	}
}
