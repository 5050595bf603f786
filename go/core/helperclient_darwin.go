package core

// The host's side of the helper on macOS (the helper's side is
// go/internal/helperserver/server_darwin.go, which says why it registers trees
// instead of spawning them). The host spawns as before (proc_darwin.go) and
// registers each leader with the helper right after the fork, before its wait can
// reap it (so the pid and start time sent are the leader's); the helper kills the
// registered trees once the host is gone, however it went (socket EOF, or kqueue's
// NOTE_EXIT on the host's pid).
//
// Which helper runs is chosen as on Linux: PAWWORK_SUPERVISOR_HELPER ("0"/"off"
// disables it, else a path) or the exact path the host handed down (Configure's
// HelperPath). Started at the first spawn (or Containment); a spawn waits for a new
// helper's hello until helloWait after its start at most; a helper that is missing,
// of another build, silent or dead leaves the library working without it
// (Containment says why), restarted for later spawns at most once a second.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

const (
	// sendBound bounds a write to the helper: one that is not read within it is
	// stopped or stuck, and is dropped (killed) rather than block a spawn.
	sendBound = 200 * time.Millisecond
)

// helperConn is one running helper and the socket to it.
type helperConn struct {
	sock    *os.File
	pid     int
	path    string
	started time.Time
	hello   chan struct{} // closed once the hello came, or the helper ended without one
	ended   chan struct{} // closed once the helper process was reaped

	sendMu sync.Mutex
	mu     sync.Mutex
	said   bool
	dead   bool
	why    string
	lastID int64
}

// Containment reports the containment of the next spawn, starting the helper if it
// is not running yet.
func Containment() ContainmentInfo {
	conn, reason := getHelper()
	if conn != nil {
		return ContainmentInfo{Mode: "helper", HelperPid: conn.pid, HelperPath: conn.path,
			Guarantees: []string{"session", "pgroup", "ptable", "host-death"}}
	}
	return ContainmentInfo{Mode: "fallback", Reason: reason, Guarantees: []string{"session", "pgroup", "ptable"}}
}

func startHelper(path string) (*helperConn, error) {
	if err := checkExecutable(path); err != nil {
		return nil, fmt.Errorf("helper %s: %v", path, underlying(err))
	}
	// No SOCK_CLOEXEC on macOS: ForkLock keeps Go's own forks from inheriting the
	// ends in between (a fork of the host's own is covered by the helper's kqueue
	// watch of the host).
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("socketpair: %v", err)
	}
	ours, theirs := fds[0], fds[1]
	unix.SetsockoptInt(ours, unix.SOL_SOCKET, unix.SO_NOSIGPIPE, 1)
	unix.SetsockoptInt(ours, unix.SOL_SOCKET, unix.SO_SNDBUF, 256<<10)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		unix.Close(ours)
		unix.Close(theirs)
		return nil, err
	}
	defer null.Close()
	env, stderr := helperEnv(null)
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{null.Fd(), null.Fd(), stderr, uintptr(theirs)}, // the socket is the helper's wire.Fd
		Sys:   &syscall.SysProcAttr{Setsid: true},
	}
	pid, err := syscall.ForkExec(path, []string{path, HelperArg, "--host=" + strconv.Itoa(os.Getpid())}, attr)
	unix.Close(theirs) // only the helper holds its end: its death is our EOF
	if err != nil {
		unix.Close(ours)
		return nil, fmt.Errorf("start helper %s: %v", path, err)
	}
	unix.SetNonblock(ours, true) // through the netpoller: writes can have a deadline
	c := &helperConn{sock: os.NewFile(uintptr(ours), "pawwork-supervisor-helper"), pid: pid, path: path, started: time.Now(),
		hello: make(chan struct{}), ended: make(chan struct{})}
	go c.read()
	go func() { // the helper is our child: always reaped, its end recorded
		var ws unix.WaitStatus
		var err error
		for {
			if _, err = unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
				break
			}
		}
		c.mu.Lock()
		c.dead = true // first: kill() must not signal the pid once it is reaped
		said := c.said
		c.mu.Unlock()
		what := fmt.Sprintf("exited with code %d", ws.ExitStatus())
		if err != nil {
			what = "ended (" + err.Error() + ")"
		} else if ws.Signaled() {
			what = "was killed by " + signalName(int(ws.Signal()))
		}
		if said {
			c.fail(fmt.Sprintf("helper %s (pid %d) %s", path, pid, what))
		} else {
			c.fail(fmt.Sprintf("helper %s %s before saying hello", path, what))
		}
		close(c.ended)
		c.sock.Close() // the reader ends; nothing is sent any more
	}()
	go c.killIfSilent()
	return c, nil
}

// read takes the hello (checking the build), then waits for the helper's end.
func (c *helperConn) read() {
	r := wire.NewLineReader(c.sock)
	m, err := r.Next()
	switch {
	case err != nil:
		c.fail(fmt.Sprintf("helper %s: no hello (%v)", c.path, err))
	case m.Op != "hello" || m.Pid != c.pid:
		c.fail(fmt.Sprintf("helper %s: its first message is not its hello (%s, pid %d)", c.path, m.Op, m.Pid))
	case m.Build != wire.BuildID:
		c.fail(fmt.Sprintf("helper %s is from another build (%q; this library: %q)", c.path, m.Build, wire.BuildID))
	default:
		c.mu.Lock()
		c.said = true
		c.mu.Unlock()
	}
	close(c.hello)
	for err == nil {
		_, err = r.Next()
		if errors.Is(err, wire.ErrBadMsg) {
			err = nil
		}
	}
}

// kill ends a helper that is of no use (the trees registered with it lose their
// host-death cleanup; Containment says why there is no helper).
func (c *helperConn) kill() {
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if !dead { // not reaped yet: the pid is still the helper's
		unix.Kill(c.pid, unix.SIGKILL)
	}
}

// send writes m, bounded by sendBound; false if it was not sent (then the helper
// is dropped: killed, and replaced at a later spawn).
func (c *helperConn) send(m wire.Msg) bool {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	usable := c.said && !c.dead && c.why == ""
	c.mu.Unlock()
	if !usable {
		return false
	}
	c.sock.SetWriteDeadline(time.Now().Add(sendBound))
	if err := wire.WriteLine(c.sock, m); err != nil {
		c.fail(fmt.Sprintf("helper %s (pid %d): a request was not taken within %v (%v)", c.path, c.pid, sendBound, err))
		c.kill()
		return false
	}
	return true
}

// watch registers the leader pid, the caller's unreaped child, with the helper;
// it returns the tree's id, 0 if it was not registered.
func (c *helperConn) watch(pid int) int64 {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid {
		return 0
	}
	start := kp.Proc.P_starttime.Sec*1_000_000 + int64(kp.Proc.P_starttime.Usec)
	c.mu.Lock()
	c.lastID++
	id := c.lastID
	c.mu.Unlock()
	if !c.send(wire.Msg{Op: "watch", ID: id, Pid: pid, Start: start}) {
		return 0
	}
	return id
}

// stopHelper closes the running helper's socket, as a dying host would, and waits
// (bounded) for it to kill what it holds and exit. For tests.
func stopHelper(bound time.Duration) error {
	c := takeHelper()
	if c == nil {
		return nil
	}
	// Through Control: the file cannot be closed meanwhile (and Fd() would make it
	// blocking).
	if rc, err := c.sock.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	}
	select {
	case <-c.ended:
		return nil
	case <-time.After(bound):
		return fmt.Errorf("helper %d still alive %v after its socket closed", c.pid, bound)
	}
}
