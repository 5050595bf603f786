package core

// The host's side of the helper (see helper_proto.go and helper_linux.go).
//
// The helper is started at the first spawn, from the executable named by the
// environment variable PAWWORK_SUPERVISOR_HELPER ("0" or "off" disables it) or, by
// default, pawwork-supervisor-helper beside this library. If it is missing, cannot
// start or dies, spawning goes on without it (weaker containment: no re-parenting
// of orphans, no cleanup at host death) and Containment() says why; a dead helper is
// restarted for later spawns, at most once a second.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// HelperName is the helper executable's file name, looked for beside the library.
const HelperName = "pawwork-supervisor-helper"

type helperConn struct {
	fd   int
	pid  int
	path string

	cgroup       string // the helper's cgroup v2 subtree; "" when none
	cgroupReason string // why there is none
	proc         *proc  // the helper process itself (our child)

	sendMu sync.Mutex

	mu      sync.Mutex
	waiting map[int64]chan helperReply // spawn replies and exits, by id
	exits   map[int64]chan helperMsg
	dead    bool
	lastID  int64
}

type helperReply struct {
	msg   helperMsg
	pidfd int
}

var helperState struct {
	mu       sync.Mutex
	conn     *helperConn
	reason   string // why there is no helper, when there is none
	lastFail time.Time

	override   string
	overridden bool
	cgroup     string
	cgroupSet  bool
}

// Containment reports the containment of the next spawn, starting the helper if it
// is not running yet (so that the answer is true, not a guess).
func Containment() ContainmentInfo {
	conn, reason := getHelper()
	if conn != nil {
		g := []string{"session", "pgroup", "pidfd", "ancestry", "marker", "subreaper", "host-death", "clean-exec"}
		if conn.cgroup != "" {
			g = append(g, "cgroup")
		}
		return ContainmentInfo{Mode: "helper", HelperPid: conn.pid, HelperPath: conn.path, Cgroup: conn.cgroup,
			CgroupReason: conn.cgroupReason, Guarantees: g}
	}
	return ContainmentInfo{Mode: "fallback", Reason: reason,
		Guarantees: []string{"session", "pgroup", "pidfd", "ancestry", "marker"}}
}

// Configure overrides PAWWORK_SUPERVISOR_HELPER and PAWWORK_SUPERVISOR_CGROUP (the
// host's environment as Go saw it when the library loaded; a host that sets them
// later passes them here). Helper: "" for the default beside the library,
// "0"/"off" to disable, else a path. Cgroup: "" to use one when writable, "0"/"off"
// never, else the directory to make the subtree in. Both apply from the next start
// of the helper; a running helper is kept.
func Configure(cfg Config) {
	helperState.mu.Lock()
	if cfg.Helper != nil {
		helperState.override, helperState.overridden = *cfg.Helper, true
	}
	if cfg.Cgroup != nil {
		helperState.cgroup, helperState.cgroupSet = *cfg.Cgroup, true
	}
	if helperState.conn == nil {
		helperState.reason, helperState.lastFail = "", time.Time{}
	}
	helperState.mu.Unlock()
}

// SetHelper is Configure with the helper setting only.
func SetHelper(v string) { Configure(Config{Helper: &v}) }

func cgroupSetting() string {
	if helperState.cgroupSet {
		return helperState.cgroup
	}
	return os.Getenv("PAWWORK_SUPERVISOR_CGROUP")
}

// stopHelper closes the running helper's socket, as a dying host would, and waits
// (bounded) for it to kill what it holds and exit. For tests.
func stopHelper(bound time.Duration) error {
	helperState.mu.Lock()
	c := helperState.conn
	helperState.conn = nil
	helperState.mu.Unlock()
	if c == nil {
		return nil
	}
	c.shutdown()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		dead := c.dead
		c.mu.Unlock()
		c.proc.mu.Lock()
		reaped := c.proc.reaped
		c.proc.mu.Unlock()
		if dead && reaped {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("helper %d still alive %v after its socket closed", c.pid, bound)
}

func helperPath() (string, error) {
	v := os.Getenv("PAWWORK_SUPERVISOR_HELPER")
	if helperState.overridden {
		v = helperState.override
	}
	switch strings.ToLower(v) {
	case "0", "off", "false", "no":
		return "", errors.New("disabled by PAWWORK_SUPERVISOR_HELPER=" + v)
	case "":
	default:
		return v, nil
	}
	lib, err := ownObject()
	if err != nil {
		return "", fmt.Errorf("cannot find this library's own file: %v", err)
	}
	return filepath.Join(filepath.Dir(lib), HelperName), nil
}

// ownObject is the file this code was loaded from (the shared library inside a
// host, the executable in a test), found in /proc/self/maps by the address of one
// of its functions.
func ownObject() (string, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	addr := funcAddr()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 7f..-7f.. r-xp 00000000 08:01 1234   /path/to/lib.so
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		var lo, hi uintptr
		if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err != nil {
			continue
		}
		if addr >= lo && addr < hi {
			return strings.Join(fields[5:], " "), nil
		}
	}
	return "", errors.New("no mapping holds this code")
}

// getHelper returns the running helper, starting it if needed, or why there is none.
func getHelper() (*helperConn, string) {
	helperState.mu.Lock()
	defer helperState.mu.Unlock()
	if c := helperState.conn; c != nil {
		c.mu.Lock()
		dead := c.dead
		c.mu.Unlock()
		if !dead {
			return c, ""
		}
		helperState.conn = nil
		helperState.reason = "the helper died"
		helperState.lastFail = time.Now()
	}
	if time.Since(helperState.lastFail) < time.Second && helperState.reason != "" && !strings.HasPrefix(helperState.reason, "disabled") {
		return nil, helperState.reason
	}
	path, err := helperPath()
	if err != nil {
		helperState.reason = err.Error()
		return nil, helperState.reason
	}
	c, err := startHelper(path)
	if err != nil {
		helperState.reason = err.Error()
		helperState.lastFail = time.Now()
		return nil, helperState.reason
	}
	helperState.conn, helperState.reason = c, ""
	return c, ""
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
	defer unix.Close(theirs)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		unix.Close(ours)
		return nil, err
	}
	defer null.Close()
	pidfd := -1
	attr := &syscall.ProcAttr{
		Env:   []string{"PATH=/usr/bin:/bin"},
		Files: []uintptr{null.Fd(), null.Fd(), uintptr(2), uintptr(theirs)},
		Sys:   &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd},
	}
	pid, err := forkExecUnmasked(path, []string{path, HelperArg, "--cgroup=" + cgroupSetting()}, attr)
	if err != nil {
		unix.Close(ours)
		return nil, fmt.Errorf("start helper %s: %v", path, err)
	}
	p := &proc{pid: pid}
	if pidfd >= 0 {
		unix.SetNonblock(pidfd, true)
		p.pidf = os.NewFile(uintptr(pidfd), "pidfd")
	}
	c := &helperConn{fd: ours, pid: pid, path: path, proc: p, waiting: map[int64]chan helperReply{}, exits: map[int64]chan helperMsg{}}
	// The hello, bounded: a helper that does not answer is not used.
	hello := make(chan error, 1)
	go c.read(hello)
	select {
	case err := <-hello:
		if err != nil {
			c.kill()
			return nil, fmt.Errorf("helper %s: %v", path, err)
		}
	case <-time.After(5 * time.Second):
		c.kill()
		return nil, fmt.Errorf("helper %s did not answer within 5s", path)
	}
	go func() {
		p.wait()
		p.reap()
	}()
	return c, nil
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
func (c *helperConn) read(hello chan<- error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	first := true
	for {
		n, oobn, _, _, err := unix.Recvmsg(c.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			if first {
				hello <- fmt.Errorf("closed its socket before saying hello (%v)", err)
			}
			break
		}
		fd := -1
		if oobn > 0 {
			if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, cm := range cms {
					if got, err := unix.ParseUnixRights(&cm); err == nil {
						for _, g := range got {
							if fd < 0 {
								fd = g
							} else {
								unix.Close(g)
							}
						}
					}
				}
			}
		}
		var m helperMsg
		if err := json.Unmarshal(buf[:n], &m); err != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			continue
		}
		if first {
			first = false
			if m.Op != "hello" || m.Pid != c.pid {
				hello <- fmt.Errorf("unexpected first message %q", m.Op)
				break
			}
			c.cgroup, c.cgroupReason = m.Cgroup, m.Reason
			hello <- nil
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
				ch <- m
			}
		}
		c.mu.Unlock()
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	c.sendMu.Lock()
	c.mu.Lock()
	c.dead = true
	for id, ch := range c.waiting {
		close(ch)
		delete(c.waiting, id)
	}
	for id, ch := range c.exits {
		close(ch)
		delete(c.exits, id)
	}
	unix.Close(c.fd)
	c.mu.Unlock()
	c.sendMu.Unlock()
}

func (c *helperConn) send(m helperMsg, fds []int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	c.mu.Lock()
	dead := c.dead
	c.mu.Unlock()
	if dead {
		return unix.EPIPE // the fd is closed, its number maybe re-used: never touch it
	}
	for {
		err = unix.Sendmsg(c.fd, b, oob, nil, 0)
		if err != unix.EINTR {
			return err
		}
	}
}

// errHelperUnusable means the request never reached a child: spawn directly.
var errHelperUnusable = errors.New("helper unusable")

// spawn asks the helper to start path. On success the child is the helper's, with
// the returned pidfd (or -1) ours, and exit receives its one exit message (closed
// without one if the helper dies first).
func (c *helperConn) spawn(path string, argv, env []string, dir string, files []*os.File) (pid, pidfd int, id int64, cgroup string, exit chan helperMsg, err error) {
	reply := make(chan helperReply, 1)
	exit = make(chan helperMsg, 1)
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return 0, -1, 0, "", nil, errHelperUnusable
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
	if err := c.send(helperMsg{Op: "spawn", ID: id, Path: path, Argv: argv, Env: env, Dir: dir}, fds); err != nil {
		c.forget(id)
		return 0, -1, 0, "", nil, errHelperUnusable // EMSGSIZE (huge env) or a dead helper
	}
	var r helperReply
	var ok bool
	select {
	case r, ok = <-reply: // the helper answers at once, or dies (closed)
	case <-time.After(helperReplyBound):
		// A wedged helper is of no use: kill it (with whatever it holds) and say so.
		c.kill()
		return 0, -1, 0, "", nil, &Error{Code: "ETIMEDOUT", Syscall: "spawn", Path: path,
			Msg: fmt.Sprintf("spawn %s ETIMEDOUT: the helper did not answer within %v", path, helperReplyBound)}
	}
	if !ok {
		return 0, -1, 0, "", nil, errHelperUnusable
	}
	if r.msg.Errno != 0 {
		c.forget(id)
		return 0, -1, 0, "", nil, syscall.Errno(r.msg.Errno)
	}
	return r.msg.Pid, r.pidfd, id, r.msg.Cgroup, exit, nil
}

const helperReplyBound = 10 * time.Second

func (c *helperConn) forget(id int64) {
	c.mu.Lock()
	delete(c.waiting, id)
	delete(c.exits, id)
	c.mu.Unlock()
}

func funcAddr() uintptr { return reflect.ValueOf(ownObject).Pointer() }
