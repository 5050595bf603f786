package helperserver

// The macOS process table as the helper reads it (runs in the workflow's macOS job).

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestReadTableSelfAndChild(t *testing.T) {
	before := time.Now().UnixMicro()
	cmd := exec.Command("/bin/sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	table, ok := readTable()
	if !ok {
		t.Fatal("sysctl kern.proc.all failed")
	}
	byPid := index(table)
	me, ok := byPid[os.Getpid()]
	if !ok {
		t.Fatalf("the table (%d rows) lacks this process", len(table))
	}
	sid, _ := unix.Getsid(0)
	if me.ppid != os.Getppid() || me.pgid != unix.Getpgrp() || me.sid != sid || me.uid != os.Getuid() || me.zombie {
		t.Errorf("own row %+v: want ppid %d pgid %d sid %d uid %d", me, os.Getppid(), unix.Getpgrp(), sid, os.Getuid())
	}
	kid, ok := byPid[cmd.Process.Pid]
	if !ok {
		t.Fatal("the table lacks the child just started")
	}
	if kid.ppid != os.Getpid() || kid.sid != sid {
		t.Errorf("child row %+v", kid)
	}
	// Start times in µs since the epoch: the child's after the test began (1 s of
	// slack for the clock's step), ours before it.
	if kid.start < before-1_000_000 || kid.start > time.Now().UnixMicro()+1_000_000 || me.start > kid.start {
		t.Errorf("start times: own %d, child %d, test began %d", me.start, kid.start, before)
	}
}

// The registry over the real table: a registered child of ours (in our session: a
// plain exec.Command child does not setsid) is a victim; the helper (self) and
// the host never.
func TestVictimsOnTheRealTable(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	table, _ := readTable()
	kid := index(table)[cmd.Process.Pid]
	r := newRegistry()
	r.watch(1, kid.pid, kid.start)
	vs := r.victims(table, os.Getpid(), os.Getppid(), os.Getuid(), nil)
	if len(vs) != 1 || vs[0].pid != kid.pid {
		t.Fatalf("victims %v, want only %d", rowPids(vs), kid.pid)
	}
	r = newRegistry()
	r.watch(1, kid.pid, kid.start-1)
	if vs := r.victims(table, os.Getpid(), os.Getppid(), os.Getuid(), nil); len(vs) != 0 {
		t.Fatalf("victims %v of a registration with another start time", rowPids(vs))
	}
}
