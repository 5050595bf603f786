package core

// The connection to a running helper: starting it, reading what it says, and the
// requests (spawn, reap, letgo) sent on it. Which helper runs, and when one is
// started, is helperclient_linux.go's.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/pidfd"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// helperConn is one running helper and the socket to it.
type helperConn struct {
	fd   int
	pid  int
	path string

	cgroup       string // the helper's cgroup v2 subtree; "" when none
	cgroupReason string // why there is none
	proc         *proc  // the helper process itself (our child)

	sendMu sync.Mutex

	started time.Time
	hello   chan struct{} // closed once the hello came, or the helper ended without one
	ended   chan struct{} // closed once the helper process was reaped

	mu      sync.Mutex
	waiting map[int64]chan helperReply // spawn replies and exits, by id
	exits   map[int64]chan wire.Msg
	wakers  map[int64]func()        // called once the exit of id is in (onExit)
	reaped  map[int64]chan struct{} // closed at the helper's "reaped" (or its death)
	dead    bool
	said    bool   // the hello came
	why     string // why the helper is of no use, once it is not
	lastID  int64
}

type helperReply struct {
	msg   wire.Msg
	pidfd int
}

func startHelper(path string) (*helperConn, error) {
	if err := checkExecutable(path); err != nil {
		return nil, fmt.Errorf("helper %s: %v", path, underlying(err))
	}
	if err := probeThreads(HelperThreads); err != nil { // its runtime cannot survive a missing one
		return nil, fmt.Errorf("helper %s: %v", path, err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %v", err)
	}
	ours, theirs := fds[0], fds[1]
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		unix.Close(ours)
		unix.Close(theirs)
		return nil, err
	}
	defer null.Close()
	env, stderr := helperEnv(null)
	pfd := -1
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), stderr, uintptr(theirs)}, // the socket is the helper's wire.Fd
		Sys:   &syscall.SysProcAttr{Setsid: true, PidFD: &pfd},
	}
	pid, err := forkExecUnmasked(path, []string{path, HelperArg, "--cgroup=" + cgroupSetting()}, attr)
	// Only the helper may hold its end: its death is then our EOF, at once.
	unix.Close(theirs)
	if err != nil {
		unix.Close(ours)
		return nil, fmt.Errorf("start helper %s: %v", path, err)
	}
	p := &proc{pid: pid}
	if pfd >= 0 {
		p.pidf = pidfd.Open(pfd)
	}
	c := &helperConn{fd: ours, pid: pid, path: path, proc: p, started: time.Now(), hello: make(chan struct{}), ended: make(chan struct{}),
		waiting: map[int64]chan helperReply{}, exits: map[int64]chan wire.Msg{}, wakers: map[int64]func(){},
		reaped: map[int64]chan struct{}{}}
	go c.read()
	// The helper's end, whatever it was (a crash, /bin/true, a kill): reaped at once,
	// its socket shut so that the reader ends even if something it started holds
	// the other end.
	go func() {
		st, err := p.wait()
		p.reap()
		what := fmt.Sprintf("exited with code %d", st.code)
		if st.signal != 0 {
			what = "was killed by " + signalName(st.signal)
		} else if err != nil {
			what = "ended (" + err.Error() + ")"
		}
		c.mu.Lock()
		if c.why == "" {
			if c.said {
				c.why = fmt.Sprintf("helper %s (pid %d) %s", path, pid, what)
			} else {
				c.why = fmt.Sprintf("helper %s %s before saying hello", path, what)
			}
		}
		c.mu.Unlock()
		close(c.ended)
		c.shutdown()
	}()
	go c.killIfSilent()
	return c, nil
}

// stalled reports whether the helper cannot answer now: stopped or traced (one
// read of its /proc stat). An uninterruptible sleep ('D') is not: the helper is in
// one for a moment at every cgroup operation, and the soak saw spawns fall back
// for it.
func (c *helperConn) stalled() bool {
	st, ok := procfs.ReadStat(c.pid)
	return ok && (st.State == 'T' || st.State == 't')
}

// isDead reports whether the connection is gone (the helper died or was shut down):
// its leaders are no longer its children.
func (c *helperConn) isDead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// kill ends a helper that is of no use (its trees die with it).
func (c *helperConn) kill() {
	c.proc.signalLeader(int(unix.SIGKILL))
	c.shutdown()
}

// shutdown closes the connection as a dying host would; the reader then sees EOF.
//
// The fd's lifetime: the reader closes it once the helper's end is gone, holding
// sendMu and mu, and marks the connection dead. Everyone else uses the fd only
// under sendMu after checking dead, so a number the kernel has since given to some
// other file (another helper's socket, say) is never written to or shut down.
func (c *helperConn) shutdown() {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if !dead {
		unix.Shutdown(c.fd, unix.SHUT_RDWR)
	}
}

// read dispatches the helper's messages until its end closes.
func (c *helperConn) read() {
	buf := make([]byte, 64<<10)
	oob := make([]byte, wire.OOBSpace(2))
	helloDone := func(why string) { // "": the hello came
		c.mu.Lock()
		if why == "" {
			c.said = true
		} else if c.why == "" {
			c.why = why
		}
		c.mu.Unlock()
		close(c.hello)
	}
	first := true
	for {
		n, fds, flags, err := wire.Recv(c.fd, buf, oob)
		if err != nil || n == 0 {
			if first {
				// The pidfd watcher says better why (the exit status): give it a moment
				// (a spawn waits for this).
				t := time.NewTimer(20 * time.Millisecond)
				select {
				case <-c.ended:
				case <-t.C:
				}
				t.Stop()
				helloDone(fmt.Sprintf("helper %s closed its socket before saying hello (%v)", c.path, err))
				first = false
			}
			break
		}
		fd := -1
		if len(fds) > 0 && flags&unix.MSG_CTRUNC == 0 {
			fd, fds = fds[0], fds[1:]
		}
		wire.CloseAll(fds)
		m, err := wire.Decode(buf[:n])
		if err != nil || flags&unix.MSG_TRUNC != 0 {
			if fd >= 0 {
				unix.Close(fd)
			}
			if first {
				first = false
				helloDone(fmt.Sprintf("helper %s: unreadable first message (%v)", c.path, err))
				break
			}
			continue
		}
		if first {
			first = false
			if m.Op != "hello" || m.Pid != c.pid {
				if fd >= 0 {
					unix.Close(fd)
				}
				helloDone(fmt.Sprintf("helper %s: first message %q (pid %d) is not its hello", c.path, m.Op, m.Pid))
				break
			}
			if m.Build != wire.BuildID {
				if fd >= 0 {
					unix.Close(fd)
				}
				helloDone(fmt.Sprintf("helper %s is from another build (%q; this library: %q)", c.path, m.Build, wire.BuildID))
				break
			}
			c.cgroup, c.cgroupReason = m.Cgroup, m.Reason
			helloDone("")
			if fd >= 0 {
				unix.Close(fd)
			}
			continue
		}
		c.mu.Lock()
		switch m.Op {
		case "spawned":
			if ch := c.waiting[m.ID]; ch != nil {
				delete(c.waiting, m.ID)
				ch <- helperReply{m, fd}
				fd = -1
			}
		case "exit":
			if ch := c.exits[m.ID]; ch != nil {
				select {
				case ch <- m:
				default: // a second exit for one id: a confused helper
				}
			}
			if wake := c.wakers[m.ID]; wake != nil {
				delete(c.wakers, m.ID)
				wake()
			}
		case "reaped":
			if ch := c.reaped[m.ID]; ch != nil {
				delete(c.reaped, m.ID)
				close(ch)
			}
		}
		c.mu.Unlock()
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if first {
		helloDone(fmt.Sprintf("helper %s: no hello", c.path))
	}
	c.sendMu.Lock()
	c.mu.Lock()
	c.dead = true
	if c.why == "" {
		c.why = fmt.Sprintf("helper %s (pid %d) closed its socket", c.path, c.pid)
	}
	for id, ch := range c.waiting {
		close(ch)
		delete(c.waiting, id)
	}
	for id, ch := range c.exits {
		close(ch)
		delete(c.exits, id)
	}
	for id, wake := range c.wakers {
		delete(c.wakers, id)
		wake()
	}
	for id, ch := range c.reaped {
		close(ch)
		delete(c.reaped, id)
	}
	unix.Close(c.fd)
	c.mu.Unlock()
	c.sendMu.Unlock()
}

func (c *helperConn) send(m wire.Msg, fds []int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.sendRaw(b, fds)
}

func (c *helperConn) sendRaw(b []byte, fds []int) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return unix.EPIPE // the fd is closed, its number maybe re-used: never touch it
	}
	return wire.Send(c.fd, b, fds)
}

// testHookBeforeSpawnSend, set by tests only, runs just before a spawn request is
// sent, with the helper's pid (to stop the helper with the request on its way).
var testHookBeforeSpawnSend func(helperPid int)

// errHelperUnusable means the request never reached the helper: spawn directly.
var errHelperUnusable = errors.New("helper unusable")

// helperSpawned is what the helper said of a leader it started.
type helperSpawned struct {
	pid      int
	pidfd    int // sent by an older helper, else -1: ours to close
	id       int64
	cgroup   string // the tree's cgroup directory; "" when none
	ticks    uint64 // the leader's start time (0: the helper could not read it)
	autoReap bool   // the helper reaps the leader at its exit when the tree is empty (exit's Reaped)
	exit     chan wire.Msg
}

// spawn asks the helper to start path. On success the leader is the helper's child,
// and exit receives its one exit message (closed without one if the helper dies
// first). autoReap asks that the helper reap the leader at its exit when the tree
// is empty: only for a caller that signals the leader's group through a pidfd
// pinned to it (see signalGroup).
func (c *helperConn) spawn(path string, argv, env []string, dir string, tty, autoReap bool, files []*os.File) (sp helperSpawned, err error) {
	reply := make(chan helperReply, 1)
	exit := make(chan wire.Msg, 1)
	var id int64
	fail := func(err error) (helperSpawned, error) { return helperSpawned{pidfd: -1}, err }
	if c.stalled() {
		// A stopped helper (SIGSTOP, a debugger) would hold the host's thread
		// until helperReplyBound: this spawn goes on without it (its outcome's
		// containment says so); the helper is kept.
		return fail(errHelperUnusable)
	}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return fail(errHelperUnusable)
	}
	c.lastID++
	id = c.lastID
	c.waiting[id] = reply
	c.exits[id] = exit
	c.mu.Unlock()
	fds := make([]int, len(files))
	for i, f := range files {
		fds[i] = int(f.Fd())
	}
	if testHookBeforeSpawnSend != nil {
		testHookBeforeSpawnSend(c.pid)
	}
	if err := c.sendSpawn(wire.Msg{Op: "spawn", ID: id, Path: path, Argv: argv, Env: env, Dir: dir, Tty: tty, AutoReap: autoReap}, fds); err != nil {
		c.forget(id)
		return fail(err) // errHelperUnusable: the helper is gone
	}
	var r helperReply
	var ok bool
	select {
	case r, ok = <-reply: // the helper answers at once, or dies (closed)
	case <-time.After(helperReplyBound):
		// A wedged helper is of no use: kill it (with whatever it holds) and say so.
		c.fail(fmt.Sprintf("helper %s (pid %d) did not answer a spawn within %v: killed", c.path, c.pid, helperReplyBound))
		c.kill()
		return fail(&Error{Code: "ETIMEDOUT", Syscall: "spawn", Path: path,
			Msg: fmt.Sprintf("spawn %s ETIMEDOUT: the helper did not answer within %v", path, helperReplyBound)})
	}
	if !ok {
		// The helper had the request and died before it answered: it may have
		// started the leader. Spawning again would run the command twice, so the
		// spawn fails instead (the next one goes on without the helper, or with a
		// new one).
		return fail(&Error{Code: "ECONNRESET", Syscall: "spawn " + path, Path: path, Errno: syscall.ECONNRESET,
			Msg: fmt.Sprintf("spawn %s ECONNRESET: the helper died while starting the leader (not retried: it may have started it)", path)})
	}
	if r.msg.Errno != 0 {
		c.forget(id)
		return fail(syscall.Errno(r.msg.Errno))
	}
	return helperSpawned{pid: r.msg.Pid, pidfd: r.pidfd, id: id, cgroup: r.msg.Cgroup, ticks: r.msg.Ticks,
		autoReap: autoReap && r.msg.AutoReap, exit: exit}, nil
}

const helperReplyBound = 10 * time.Second

// sendSpawn sends a spawn request: inline when small, else in a sealed memfd passed
// beside the stdio fds (one SEQPACKET message holds ~208 KB; argv+env may hold up
// to ARG_MAX, and more, which the exec then refuses with E2BIG). It returns
// errHelperUnusable when the helper is gone, else a typed error: a request is never
// quietly spawned without the helper for its size.
func (c *helperConn) sendSpawn(m wire.Msg, fds []int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return &Error{Code: "EINVAL", Syscall: "spawn", Path: m.Path, Msg: "spawn " + m.Path + " EINVAL: " + err.Error(), Err: err}
	}
	if len(b) <= wire.MaxInlineRequest {
		if err := c.sendRaw(b, fds); err != nil {
			return c.sendError(m.Path, err)
		}
		return nil
	}
	if len(b) > wire.MaxRequest {
		return syscall.E2BIG // far over ARG_MAX: the exec would refuse it
	}
	mfd, err := wire.RequestMemfd(b)
	if err != nil {
		return &Error{Code: errnoName(errnoOf(err)), Syscall: "memfd_create", Path: m.Path, Err: err,
			Msg: fmt.Sprintf("spawn %s: the request (%d bytes) is too large for one message to the helper, and no memfd could carry it: %v", m.Path, len(b), err)}
	}
	defer unix.Close(mfd)
	head, _ := json.Marshal(wire.Msg{Op: "spawn", ID: m.ID, Request: int64(len(b))})
	if err := c.sendRaw(head, append(fds[:len(fds):len(fds)], mfd)); err != nil {
		return c.sendError(m.Path, err)
	}
	return nil
}

// sendError: a send fails because the helper is gone (errHelperUnusable: spawn
// without it, as when it died just before) or for a reason of its own (typed).
func (c *helperConn) sendError(path string, err error) error {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead || err == unix.EPIPE || err == unix.ECONNRESET || err == unix.ENOTCONN {
		return errHelperUnusable
	}
	return &Error{Code: errnoName(errnoOf(err)), Syscall: "sendmsg", Path: path, Err: err,
		Msg: fmt.Sprintf("spawn %s: the request could not be sent to the helper: %v", path, err)}
}

func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return unix.EIO
}

// onExit calls wake (which must not block: it starts a goroutine) once the exit
// of tree id is in exit, or the helper died: at once if that is so already. The
// wait for an exit then costs an idle child no goroutine.
func (c *helperConn) onExit(id int64, exit chan wire.Msg, wake func()) {
	c.mu.Lock()
	if _, open := c.exits[id]; open && len(exit) == 0 {
		c.wakers[id] = wake
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	wake()
}

func (c *helperConn) forget(id int64) {
	c.mu.Lock()
	delete(c.waiting, id)
	delete(c.exits, id)
	delete(c.wakers, id)
	delete(c.reaped, id)
	c.mu.Unlock()
}

// awaitReaped returns a channel closed when the helper says it reaped tree id (or
// when it died: nothing of the tree is left unreaped under it then).
func (c *helperConn) awaitReaped(id int64) <-chan struct{} {
	ch := make(chan struct{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		close(ch)
		return ch
	}
	c.reaped[id] = ch
	return ch
}
