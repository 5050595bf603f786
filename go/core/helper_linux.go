package core

// The helper executable's side (see helper_proto.go). One helper runs per host
// process. It is a child subreaper, so every orphan of every tree it started
// re-parents to it instead of to pid 1 and stays findable as its descendant; it
// spawns on the host's behalf with the pipes the host made (handed over as fds, so
// output never takes an extra copy); and it notices the host's death as EOF on the
// socket, whatever killed the host, and then kills every tree it holds.
//
// Because the helper is a plain Go program of its own, its children start clean:
// only fds 0–2 (every fd Go opens is close-on-exec, and the socket is set so), no
// blocked signals, and no ignored ones (the host — Node — ignores SIGPIPE and
// SIGXFSZ, and whatever started the host may ignore others: the helper resets them
// all to the default before its first spawn).

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const helperFd = 3

// HelperDebugVar, set in the host's environment, keeps the helper's stderr (the
// host's) instead of /dev/null, for its diagnostics.
const HelperDebugVar = "PAWWORK_SUPERVISOR_HELPER_DEBUG"

type helper struct {
	self int
	fd   int // the socket to the host

	// forkExec starts a leader (syscall.ForkExec; the fuzz tests stub it).
	forkExec func(path string, argv []string, attr *syscall.ProcAttr) (int, error)

	sendMu sync.Mutex

	mu       sync.Mutex
	leaders  map[int]*proc // started, not yet reaped on the host's request
	ids      map[int64]*proc
	released map[int]uint64 // pid → start time: let go by the host, never killed

	// cgroup v2: one directory per tree below cgroup, when a writable one was found.
	cgroup   string
	trees    map[int64]string // id → the tree's cgroup directory
	freeTree map[int64]bool   // trees whose leftovers were released: not killed
}

// HelperMain runs the helper; the socket to the host is fd 3. It returns the exit
// code once the host is gone and every tree it held is dead.
func HelperMain() int {
	h := newHelper(helperFd)
	setting := ""
	for _, a := range os.Args[2:] {
		if v, ok := strings.CutPrefix(a, "--cgroup="); ok {
			setting = v
		}
	}
	if _, err := unix.FcntlInt(helperFd, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: fd 3 is not the host's socket (%v); it is started by the library, not by hand\n", err)
		return 2
	}
	closeInherited()
	if os.Getenv(HelperDebugVar) == "" {
		quietStdio()
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: PR_SET_CHILD_SUBREAPER: %v\n", err)
		return 2
	}
	// Terminal and polite signals do not end the helper: it lives exactly as long
	// as its host. (Notify also installs Go's handler, so an inherited "ignore" of
	// SIGHUP or SIGINT is not passed on to the children.)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGCHLD)
	resetIgnoredSignals()
	go func() {
		tick := time.NewTicker(time.Second)
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGCHLD {
					h.reapOrphans()
				}
			case <-tick.C:
				h.reapOrphans()
			}
			h.sweepTrees()
		}
	}()
	var reason string
	h.cgroup, reason = makeCgroupSubtree(setting, h.self)
	h.send(helperMsg{Op: "hello", Pid: h.self, Cgroup: h.cgroup, Reason: reason}, -1)
	h.serve()
	h.killAll()
	h.removeCgroups()
	return 0
}

func newHelper(fd int) *helper {
	return &helper{self: os.Getpid(), fd: fd, forkExec: syscall.ForkExec, leaders: map[int]*proc{}, ids: map[int64]*proc{},
		released: map[int]uint64{}, trees: map[int64]string{}, freeTree: map[int64]bool{}}
}

// closeInherited closes every fd above the socket that came without close-on-exec:
// whatever the host held so when it started the helper is of no use here, and must
// neither reach the trees nor be kept open (a pipe's reader waiting for EOF, a
// deleted file's space) for the helper's whole life. Every fd the Go runtime makes
// is close-on-exec, so only inherited ones are hit.
func closeInherited() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		// No /proc: at least keep them from the trees.
		unix.CloseRange(helperFd+1, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
		return
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= helperFd {
			continue
		}
		if flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && flags&unix.FD_CLOEXEC == 0 {
			unix.Close(fd)
		}
	}
}

// quietStdio points fds 0–2 at /dev/null: the helper has nothing to read, and the
// host's stdout and stderr (a terminal, a pipe a parent of the host waits on) must
// not be held for the helper's life (HelperDebugVar keeps stderr).
func quietStdio() {
	null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	for fd := 0; fd <= 2; fd++ {
		unix.Dup3(null, fd, 0)
	}
	unix.Close(null)
}

// resetIgnoredSignals sets every signal this process inherited as ignored back to
// its default, so that exec passes no "ignored" disposition on (exec keeps ignores,
// resets handlers). Go's own handlers are left alone: exec resets them anyway.
func resetIgnoredSignals() {
	type sigaction struct{ handler, rest [4]uintptr } // any layout: all zero is SIG_DFL
	for sig := 1; sig < 65; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old sigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 {
			continue
		}
		if old.handler[0] == 1 { // SIG_IGN
			var dfl sigaction
			unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
		}
	}
}

func (h *helper) send(m helperMsg, fd int) {
	b, _ := json.Marshal(m)
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	h.sendMu.Lock()
	defer h.sendMu.Unlock()
	for {
		err := unix.Sendmsg(h.fd, b, oob, nil, 0)
		if err != unix.EINTR {
			return // a dead host is noticed by the reader
		}
	}
}

// serve handles the host's requests until its end closes.
func (h *helper) serve() {
	buf := make([]byte, maxHelperMsg)
	oob := make([]byte, unix.CmsgSpace((maxRequestFds+1)*4))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(h.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		fds := parseRights(oob[:oobn])
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			// Cut short: what it asked cannot be known for sure.
			closeAll(fds)
			continue
		}
		h.handle(buf[:n], fds)
	}
}

// parseRights returns every fd that came with a message.
func parseRights(oob []byte) []int {
	var fds []int
	if len(oob) == 0 {
		return nil
	}
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, cm := range cms {
		if got, err := unix.ParseUnixRights(&cm); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// handle carries out one request from the host; it owns fds.
func (h *helper) handle(b []byte, fds []int) {
	m, err := decodeHelperMsg(b)
	if err != nil {
		if m.ID > 0 && m.Op == "spawn" {
			h.send(helperMsg{Op: "spawned", ID: m.ID, Errno: int(unix.EINVAL)}, -1)
		}
		closeAll(fds)
		return
	}
	switch m.Op {
	case "spawn":
		if m.Request > 0 {
			req, errno := h.readRequest(&m, fds)
			if errno != 0 {
				closeAll(fds)
				h.send(helperMsg{Op: "spawned", ID: m.ID, Errno: int(errno)}, -1)
				return
			}
			m, fds = req, fds[:3]
		}
		h.spawn(&m, fds)
	case "reap":
		closeAll(fds)
		h.mu.Lock()
		p := h.ids[m.ID]
		delete(h.ids, m.ID)
		h.mu.Unlock()
		if p != nil {
			p.reap()
			h.mu.Lock()
			delete(h.leaders, p.pid)
			h.mu.Unlock()
			// Gone now unless the tree left something (let go or escaped the
			// kill); then sweepTrees removes it once empty.
			h.sweepTrees()
		}
		// The tree's killed members that are zombies now are reaped before the
		// answer: the host settles the outcome only after it.
		h.reapOrphans()
		h.send(helperMsg{Op: "reaped", ID: m.ID}, -1)
	case "release":
		closeAll(fds)
		h.mu.Lock()
		h.freeTree[m.ID] = true
		for _, pid := range m.Pids {
			if st, ok := readStat(pid); ok {
				h.released[pid] = st.start
			}
		}
		h.mu.Unlock()
	default:
		closeAll(fds)
	}
}

// readRequest reads a spawn request handed over in a memfd (the fourth fd) and
// closes that fd. It fails with E2BIG for one too large to exec, EINVAL for a
// malformed one.
func (h *helper) readRequest(m *helperMsg, fds []int) (helperMsg, unix.Errno) {
	if len(fds) != 4 {
		return helperMsg{}, unix.EINVAL
	}
	fd := fds[3]
	defer unix.Close(fd)
	b, errno := readRequestFile(fd, m.Request)
	if errno != 0 {
		return helperMsg{}, errno
	}
	req, err := decodeSpawnRequest(b, m.ID)
	if err != nil {
		return helperMsg{}, unix.EINVAL
	}
	return req, 0
}

// readRequestFile reads exactly n bytes from the start of the regular file (memfd)
// fd, refusing one of another size.
func readRequestFile(fd int, n int64) ([]byte, unix.Errno) {
	if n > maxRequest {
		return nil, unix.E2BIG
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != n {
		return nil, unix.EINVAL
	}
	b := make([]byte, n)
	for off := 0; off < len(b); {
		k, err := unix.Pread(fd, b[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil || k <= 0 {
			return nil, unix.EINVAL
		}
		off += k
	}
	return b, 0
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

func (h *helper) spawn(m *helperMsg, fds []int) {
	defer closeAll(fds)
	if len(fds) != 3 {
		h.send(helperMsg{Op: "spawned", ID: m.ID, Errno: int(unix.EINVAL)}, -1)
		return
	}
	pidfd := -1
	attr := &syscall.ProcAttr{Dir: m.Dir, Env: m.Env, Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		Sys: &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd}}
	// With a cgroup subtree, the child is born in its tree's own cgroup
	// (CLONE_INTO_CGROUP): nothing it starts can leave it without privileges.
	treeDir := ""
	if h.cgroup != "" {
		dir := filepath.Join(h.cgroup, "t"+strconv.FormatInt(m.ID, 10))
		err := unix.Mkdir(dir, 0o755)
		if err == unix.ENOENT {
			// Our subtree was removed under us (by hand, or by a helper of another
			// pid namespace that took it for a dead one's): make it again.
			unix.Mkdir(h.cgroup, 0o755)
			err = unix.Mkdir(dir, 0o755)
		}
		if err == nil || err == unix.EEXIST {
			if cfd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
				defer unix.Close(cfd)
				attr.Sys.UseCgroupFD, attr.Sys.CgroupFD, treeDir = true, cfd, dir
			}
		}
	}
	// The orphan reaper must not take a leader that exits at once: the map entry
	// is made under the lock the reaper takes.
	h.mu.Lock()
	pid, err := h.forkExec(m.Path, m.Argv, attr)
	if err != nil && treeDir != "" && (err == unix.EBUSY || err == unix.EACCES || err == unix.EPERM || err == unix.EOPNOTSUPP || err == unix.ENOSYS || err == unix.EINVAL) {
		// The cgroup refused the child (clone3 without CLONE_INTO_CGROUP, a
		// controller's rule): start it without, rather than not at all.
		unix.Rmdir(treeDir)
		attr.Sys.UseCgroupFD, treeDir = false, ""
		pid, err = h.forkExec(m.Path, m.Argv, attr)
	}
	if err != nil {
		h.mu.Unlock()
		errno, _ := err.(syscall.Errno)
		if errno == 0 {
			errno = unix.EIO
		}
		h.send(helperMsg{Op: "spawned", ID: m.ID, Errno: int(errno)}, -1)
		return
	}
	p := &proc{pid: pid}
	if pidfd < 0 {
		pidfd, _ = unix.PidfdOpen(pid, 0)
	}
	var hostFd = -1
	if pidfd >= 0 {
		// The host gets its own pidfd; ours is polled for the exit.
		hostFd, _ = unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 0)
		unix.SetNonblock(pidfd, true)
		p.pidf = os.NewFile(uintptr(pidfd), "pidfd")
	}
	h.leaders[pid] = p
	h.ids[m.ID] = p
	if treeDir != "" {
		h.trees[m.ID] = treeDir
	}
	h.mu.Unlock()
	h.send(helperMsg{Op: "spawned", ID: m.ID, Pid: pid, Cgroup: treeDir}, hostFd)
	if hostFd >= 0 {
		unix.Close(hostFd)
	}
	go func() {
		st, err := p.wait()
		if err != nil {
			st = exitStatus{code: -1}
		}
		h.send(helperMsg{Op: "exit", ID: m.ID, Code: st.code, Signal: st.signal}, -1)
	}()
}

// reapOrphans reaps every exited child that is not a leader the host still holds.
func (h *helper) reapOrphans() {
	var zombies []int
	scanProc(func(st procStat) {
		if st.ppid == h.self && st.state == 'Z' {
			zombies = append(zombies, st.pid)
		}
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, pid := range zombies {
		if _, leader := h.leaders[pid]; leader {
			continue
		}
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		delete(h.released, pid)
	}
}

// killAll ends every process the helper holds — its descendants, and the sessions
// of the leaders it started — except what the host released (and their
// descendants). Members are stopped first so that none forks out during the kill;
// the whole thing is bounded (killAllBound).
func (h *helper) killAll() {
	deadline := time.Now().Add(killAllBound)
	h.mu.Lock()
	for id, dir := range h.trees {
		if !h.freeTree[id] {
			os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		}
	}
	h.mu.Unlock()
	for {
		victims := h.held()
		if len(victims) == 0 || time.Now().After(deadline) {
			break
		}
		for _, st := range victims {
			signalMember(st, unix.SIGSTOP)
		}
		for _, st := range victims {
			signalMember(st, unix.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
		h.reapAll()
	}
	h.reapAll()
	if left := h.held(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: %d processes survived the host-death kill (bound %v)\n", len(left), killAllBound)
	}
}

// killAllBound caps the host-death kill; what survives it is reported on stderr.
const killAllBound = 5 * time.Second

// sweepTrees removes the cgroup of every tree the host has reaped as soon as it is
// empty (a tree whose leftovers were let go empties when the last one ends; each
// end is a SIGCHLD here, as they are the helper's orphans, and the tick catches the
// rest). rmdir fails on a populated cgroup, so an occupied one is never lost.
func (h *helper) sweepTrees() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, dir := range h.trees {
		if _, held := h.ids[id]; held {
			continue
		}
		if err := unix.Rmdir(dir); err == nil || err == unix.ENOENT {
			delete(h.trees, id)
			delete(h.freeTree, id)
		}
	}
}

// removeCgroups removes the tree directories that are empty, then the subtree.
// Released trees with live leftovers keep theirs (removed by nobody: empty
// directories are all that is left of them once the leftovers end).
func (h *helper) removeCgroups() {
	if h.cgroup == "" {
		return
	}
	ents, _ := os.ReadDir(h.cgroup)
	for _, e := range ents {
		if e.IsDir() {
			unix.Rmdir(filepath.Join(h.cgroup, e.Name()))
		}
	}
	unix.Rmdir(h.cgroup)
}

// makeCgroupSubtree makes this helper's directory in a writable cgroup v2
// hierarchy: below setting when it names a directory, else below the helper's own
// cgroup. It returns "" and why when there is none ("0"/"off", no cgroup2 mount,
// no cgroup.kill, or not writable: the usual case without systemd delegation).
func makeCgroupSubtree(setting string, self int) (string, string) {
	switch strings.ToLower(setting) {
	case "0", "off", "false", "no":
		return "", "disabled by PAWWORK_SUPERVISOR_CGROUP=" + setting
	}
	base := setting
	if base == "" {
		mount, err := cgroup2Mount()
		if err != nil {
			return "", err.Error()
		}
		own, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return "", err.Error()
		}
		rel := ""
		for _, line := range strings.Split(string(own), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				rel = p
			}
		}
		base = filepath.Join(mount, rel)
	}
	removeDeadSubtrees(base)
	dir := filepath.Join(base, cgroupName(self))
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Sprintf("no writable cgroup v2 directory at %s: %v", base, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		unix.Rmdir(dir)
		return "", "the kernel has no cgroup.kill (needs Linux 5.14)"
	}
	return dir, ""
}

// cgroupPrefix starts the name of every helper's subtree.
const cgroupPrefix = "pawwork-supervisor-"

// cgroupName is this helper's subtree's name: its pid, its start time and its pid
// namespace, so that no other helper — a later one with the same pid, or one in
// another pid namespace — can ever want the same name, and a later helper can tell
// whether the one that made it is dead.
func cgroupName(self int) string {
	start := uint64(0)
	if st, ok := readStat(self); ok {
		start = st.start
	}
	return fmt.Sprintf("%s%d-%d-%d", cgroupPrefix, self, start, pidNamespace())
}

func pidNamespace() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/pid", &st) != nil {
		return 0
	}
	return st.Ino
}

// subtreeOwnerDead reports whether the helper that made the subtree called name is
// known to be dead: it ran in this pid namespace and its pid is free or another
// process's. Names of an older version (the pid alone) count as dead when the pid
// is free. A helper of another pid namespace cannot be checked: never dead.
func subtreeOwnerDead(name string) bool {
	rest, ok := strings.CutPrefix(name, cgroupPrefix)
	if !ok {
		return false
	}
	f := strings.Split(rest, "-")
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	st, alive := readStat(pid)
	switch len(f) {
	case 1:
		return !alive
	case 3:
		start, err1 := strconv.ParseUint(f[1], 10, 64)
		ns, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || ns != pidNamespace() {
			return false
		}
		return !alive || st.start != start
	}
	return false
}

// removeDeadSubtrees removes the subtrees dead helpers left below base (a SIGKILLed
// helper cannot clean up): only ours by name, only of helpers known dead, and only
// the empty cgroups among them (rmdir refuses a populated one: a tree that outlived
// its helper keeps its directory).
func removeDeadSubtrees(base string) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !subtreeOwnerDead(e.Name()) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		trees, _ := os.ReadDir(dir)
		for _, t := range trees {
			if t.IsDir() {
				unix.Rmdir(filepath.Join(dir, t.Name()))
			}
		}
		unix.Rmdir(dir)
	}
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
// /sys/fs/cgroup/unified on hybrid systems).
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		// id parent major:minor root mountpoint options ... - fstype source superopts
		f := strings.Fields(line)
		for i, x := range f {
			if x == "-" && i+1 < len(f) && f[i+1] == "cgroup2" && len(f) > 4 {
				return f[4], nil
			}
		}
	}
	return "", errors.New("no cgroup2 hierarchy is mounted")
}

func (h *helper) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// held lists the live processes the helper must kill when the host is gone.
func (h *helper) held() []procStat {
	all, kids := liveTable()
	h.mu.Lock()
	released := map[int]bool{}
	for pid, start := range h.released {
		if st, ok := all[pid]; ok && st.start == start {
			released[pid] = true
		}
	}
	sessions := map[int]bool{}
	for pid := range h.leaders {
		sessions[pid] = true
	}
	h.mu.Unlock()
	var out []procStat
	seen := map[int]bool{h.self: true}
	var walk func(pid int)
	walk = func(pid int) {
		for _, k := range kids[pid] {
			if seen[k] || released[k] {
				continue
			}
			seen[k] = true
			out = append(out, all[k])
			walk(k)
		}
	}
	walk(h.self)
	for _, st := range all {
		if !seen[st.pid] && !released[st.pid] && (sessions[st.sid] || sessions[st.pgid]) {
			seen[st.pid] = true
			out = append(out, st)
			walk(st.pid)
		}
	}
	return out
}
