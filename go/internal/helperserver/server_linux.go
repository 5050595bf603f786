package helperserver

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/batchq"
	"github.com/pawwork/pawwork-supervisor/go/internal/cgroup"
	"github.com/pawwork/pawwork-supervisor/go/internal/pidfd"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

type server struct {
	self int
	fd   int // the socket to the host

	// forkExec starts a leader (pidfd.ForkExec; the fuzz tests stub it).
	forkExec func(path string, argv []string, attr *syscall.ProcAttr) (int, error)

	sendMu sync.Mutex

	mu      sync.Mutex
	leaders map[int]*leader // started, not yet reaped on the host's request
	ids     map[int64]*leader
	letGo   map[int]uint64 // pid → start time: leftovers the host let go, never killed

	// cgroup v2: one directory per tree below cgroup, when a writable one was found.
	cgroup     string
	trees      map[int64]string // id → the tree's cgroup directory
	letGoTrees map[int64]bool   // trees whose leftovers were let go: not killed

	// Reaped trees whose cgroup was still occupied, watched for "populated 0" (see
	// sweepTrees): id → watch descriptor, and back.
	inotifyFd int // -1 until the first watch
	watched   map[int64]int
	watchIDs  map[int]int64

	// Reap requests whose answer waits for one sweep of orphans shared by all the
	// requests queued at the time (serve loop only; see flushReaped).
	reapedDue   []int64
	reapedSince time.Time

	listingDue bool // a listing of the children is put off (reapOrphansSoon)

	emptied            batchq.Queue[emptiedTree] // exits of autoReap trees found empty, reaped in batches
	nextEmptiedListing time.Time                 // reapEmptied's goroutine only
}

// Bounds on coalescing reap answers: a burst of exits (100 terminals closing) costs
// one scan of /proc instead of one per tree, and no answer waits longer than this
// behind other requests.
const (
	reapedMaxWait  = 50 * time.Millisecond
	reapedMaxBatch = 64
)

// emptiedListingGap caps the pause reapEmptied puts between two listings of the
// helper's children.
const emptiedListingGap = 10 * time.Millisecond

// leader is a process the helper started for the host.
type leader struct {
	pid  int
	pidf *os.File // pollable pidfd; nil if the kernel has none
}

// Main runs the helper; the socket to the host is fd 3 (wire.Fd). It returns the
// exit code once the host is gone and every tree it held is dead.
func Main() int {
	s := newServer(wire.Fd)
	setting := ""
	for _, a := range os.Args[2:] {
		if v, ok := strings.CutPrefix(a, "--cgroup="); ok {
			setting = v
		}
	}
	if !takeFds() {
		return 2
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: PR_SET_CHILD_SUBREAPER: %v\n", err)
		return 2
	}
	// Terminal and polite signals do not end the helper: it lives exactly as long
	// as its host. (Notify also installs Go's handler, so an inherited "ignore" of
	// SIGHUP or SIGINT is not passed on to the leaders.)
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGCHLD)
	resetIgnoredSignals()
	go func() {
		tick := time.NewTicker(time.Second)
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGCHLD {
					s.reapOrphansSoon()
					s.sweepTrees(false)
				}
			case <-tick.C:
				s.reapOrphans()
				s.sweepTrees(true)
			}
		}
	}()
	var reason string
	s.cgroup, reason = makeCgroupSubtree(setting, s.self)
	s.send(wire.Msg{Op: "hello", Pid: s.self, Cgroup: s.cgroup, Reason: reason, Build: wire.BuildID}, -1)
	s.serve()
	s.killAll()
	s.removeCgroups()
	return 0
}

func newServer(fd int) *server {
	return &server{self: os.Getpid(), fd: fd, forkExec: pidfd.ForkExec, leaders: map[int]*leader{}, ids: map[int64]*leader{},
		letGo: map[int]uint64{}, trees: map[int64]string{}, letGoTrees: map[int64]bool{},
		inotifyFd: -1, watched: map[int64]int{}, watchIDs: map[int]int64{}}
}

// send sends m to the host, with fd beside it unless it is -1. A dead host is
// noticed by the reader.
func (s *server) send(m wire.Msg, fd int) {
	b, _ := json.Marshal(m)
	var fds []int
	if fd >= 0 {
		fds = []int{fd}
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	wire.Send(s.fd, b, fds)
}

// serve handles the host's requests until its end closes.
func (s *server) serve() {
	buf := make([]byte, wire.MaxMsg)
	oob := make([]byte, wire.OOBSpace(wire.MaxRequestFds+1))
	for {
		n, fds, flags, err := wire.Recv(s.fd, buf, oob)
		if err != nil || n == 0 {
			return
		}
		if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			// Cut short: what it asked cannot be known for sure.
			wire.CloseAll(fds)
			continue
		}
		s.handle(buf[:n], fds)
		if len(s.reapedDue) > 0 && (!wire.Queued(s.fd) || len(s.reapedDue) >= reapedMaxBatch || time.Since(s.reapedSince) >= reapedMaxWait) {
			s.flushReaped()
		}
	}
}

// flushReaped answers the reap requests handled since the last flush, after one
// sweep: the trees' killed members that are zombies now are reaped before the
// answers (the host settles an outcome only after its answer), and the cgroups of
// the trees that are empty are removed.
func (s *server) flushReaped() {
	s.sweepTrees(false)
	s.reapOrphans()
	for _, id := range s.reapedDue {
		s.send(wire.Msg{Op: "reaped", ID: id}, -1)
	}
	s.reapedDue = s.reapedDue[:0]
}

// handle carries out one request from the host; it owns fds.
func (s *server) handle(b []byte, fds []int) {
	m, err := wire.Decode(b)
	if err != nil {
		if m.ID > 0 && m.Op == "spawn" {
			s.send(wire.Msg{Op: "spawned", ID: m.ID, Errno: int(unix.EINVAL)}, -1)
		}
		wire.CloseAll(fds)
		return
	}
	switch m.Op {
	case "spawn":
		if m.Request > 0 {
			req, errno := s.readRequest(&m, fds)
			if errno != 0 {
				wire.CloseAll(fds)
				s.send(wire.Msg{Op: "spawned", ID: m.ID, Errno: int(errno)}, -1)
				return
			}
			m, fds = req, fds[:3]
		}
		s.spawn(&m, fds)
	case "reap":
		wire.CloseAll(fds)
		s.mu.Lock()
		l := s.ids[m.ID]
		delete(s.ids, m.ID)
		s.mu.Unlock()
		if l != nil {
			pidfd.Reap(l.pid)
			if l.pidf != nil {
				l.pidf.Close()
			}
			s.mu.Lock()
			delete(s.leaders, l.pid)
			s.mu.Unlock()
		}
		// Answered by flushReaped, with the tree's zombies reaped and its cgroup
		// gone unless the tree left something (let go or escaped the kill; then the
		// tick's sweepTrees removes it once empty).
		if len(s.reapedDue) == 0 {
			s.reapedSince = time.Now()
		}
		s.reapedDue = append(s.reapedDue, m.ID)
	case "letgo":
		wire.CloseAll(fds)
		s.mu.Lock()
		s.letGoTrees[m.ID] = true
		for _, pid := range m.Pids {
			if st, ok := procfs.ReadStat(pid); ok {
				s.letGo[pid] = st.Start
			}
		}
		s.mu.Unlock()
	default:
		wire.CloseAll(fds)
	}
}

// readRequest reads a spawn request handed over in a memfd (the fourth fd) and
// closes that fd. It fails with E2BIG for one too large to exec, EINVAL for a
// malformed one.
func (s *server) readRequest(m *wire.Msg, fds []int) (wire.Msg, unix.Errno) {
	if len(fds) != 4 {
		return wire.Msg{}, unix.EINVAL
	}
	fd := fds[3]
	defer unix.Close(fd)
	b, errno := wire.ReadRequestFile(fd, m.Request)
	if errno != 0 {
		return wire.Msg{}, errno
	}
	req, err := wire.DecodeSpawnRequest(b, m.ID)
	if err != nil {
		return wire.Msg{}, unix.EINVAL
	}
	return req, 0
}

// spawn starts a leader in a session of its own (and, with a cgroup subtree, in
// its tree's own cgroup), answers with its pid and a pidfd, and reports its exit.
func (s *server) spawn(m *wire.Msg, fds []int) {
	defer wire.CloseAll(fds)
	if len(fds) != 3 {
		s.send(wire.Msg{Op: "spawned", ID: m.ID, Errno: int(unix.EINVAL)}, -1)
		return
	}
	pfd := -1
	attr := &syscall.ProcAttr{Dir: m.Dir, Env: m.Env, Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		Sys: &syscall.SysProcAttr{Setsid: true, PidFD: &pfd}}
	if m.Tty {
		// A terminal session: the leader's fd 0 (the slave) becomes the controlling
		// terminal of the session it leads.
		attr.Sys.Setctty, attr.Sys.Ctty = true, 0
	}
	// With a cgroup subtree, the leader is born in its tree's own cgroup
	// (CLONE_INTO_CGROUP): nothing it starts can leave it without privileges.
	treeDir := ""
	if s.cgroup != "" {
		dir := filepath.Join(s.cgroup, "t"+strconv.FormatInt(m.ID, 10))
		err := unix.Mkdir(dir, 0o755)
		if err == unix.ENOENT {
			// Our subtree was removed under us (by hand, or by a helper of another
			// pid namespace that took it for a dead one's): make it again.
			unix.Mkdir(s.cgroup, 0o755)
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
	s.mu.Lock()
	pid, err := s.forkExec(m.Path, m.Argv, attr)
	if err != nil && treeDir != "" && (err == unix.EBUSY || err == unix.EACCES || err == unix.EPERM || err == unix.EOPNOTSUPP || err == unix.ENOSYS || err == unix.EINVAL) {
		// The cgroup refused the leader (clone3 without CLONE_INTO_CGROUP, a
		// controller's rule): start it without, rather than not at all.
		unix.Rmdir(treeDir)
		attr.Sys.UseCgroupFD, treeDir = false, ""
		pid, err = s.forkExec(m.Path, m.Argv, attr)
	}
	if err != nil {
		s.mu.Unlock()
		errno, _ := err.(syscall.Errno)
		if errno == 0 {
			errno = unix.EIO
		}
		s.send(wire.Msg{Op: "spawned", ID: m.ID, Errno: int(errno)}, -1)
		return
	}
	l := &leader{pid: pid}
	if pfd >= 0 {
		// Polled for the exit. The host keeps no pidfd of its own (one fd per
		// child fewer): the exit message tells it, and it pins the leader only to
		// signal it alone.
		l.pidf = pidfd.Open(pfd)
	}
	s.leaders[pid] = l
	s.ids[m.ID] = l
	if treeDir != "" {
		s.trees[m.ID] = treeDir
	}
	s.mu.Unlock()
	// The start time, read while the leader is our unreaped child (its pid names
	// it): the host pins the leader by it, and needs no read of its own.
	var ticks uint64
	if st, ok := procfs.ReadStat(pid); ok {
		ticks = st.Start
	}
	autoReap := m.AutoReap && treeDir != "" && ticks != 0
	s.send(wire.Msg{Op: "spawned", ID: m.ID, Pid: pid, Cgroup: treeDir, Ticks: ticks, AutoReap: autoReap}, -1)
	go func() {
		st, err := pidfd.Wait(l.pidf, l.pid)
		if err != nil {
			st = pidfd.Status{Code: -1}
		}
		exit := wire.Msg{Op: "exit", ID: m.ID, Code: st.Code, Signal: st.Signal}
		if err == nil && autoReap {
			if populated, err := cgroup.Populated(treeDir); err == nil && !populated && s.reapLeader(m.ID, l) {
				exit.Reaped = true
				s.emptied.Add(emptiedTree{exit, treeDir}, s.reapEmptied)
				return
			}
		}
		s.send(exit, -1)
	}()
}

// reapLeader reaps the exited leader of tree id, found empty: its cgroup had no live
// process left at the leader's exit, and nothing can enter it then (a cgroup with no
// live process has none to fork one). The host needs no look at such a tree and no
// round trip ("reap", "reaped"), which it allows (autoReap) only when it signals the
// leader's group through a pidfd pinned to the leader: a group signal sent after
// this reap reaches no process, where kill(-pid) could reach a group that re-used
// the number. Reaped at once, not in reapEmptied's batch: a leader's zombie hides
// the helper's other zombies from waitid (see reapOrphansLocked), and a thousand
// of them waiting for their batch made each batch list the helper's children. False
// when killAll reaped it (the host is gone).
func (s *server) reapLeader(id int64, l *leader) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids[id] != l {
		return false
	}
	delete(s.ids, id)
	delete(s.leaders, l.pid)
	pidfd.Reap(l.pid) // ended: does not block
	if l.pidf != nil {
		l.pidf.Close()
	}
	return true
}

// emptiedTree is a tree whose leader reapLeader reaped, with the exit to send.
type emptiedTree struct {
	exit wire.Msg
	dir  string
}

// reapEmptied sends the exits of a batch of trees reapLeader reaped, after reaping
// every zombie the helper holds: those of the trees' members that ended as the
// helper's orphans are gone before the host hears of the exits, as flushReaped
// does for a reap. One look for them per batch; when another leader's zombie hides
// them from waitid, that look lists the helper's children, which with a thousand
// children costs a millisecond or so: listings are spaced so that they take at
// most a quarter of the time (emptiedListingGap), the batch waiting meanwhile. A
// thousand trees cancelled at once otherwise kept one goroutine listing for the
// whole burst, a core of this 2-core machine's two. The cgroups go after the exits
// were sent: the host waits for nothing of them.
func (s *server) reapEmptied(batch []emptiedTree) {
	s.mu.Lock()
	listing := s.reapOrphansLocked(true)
	s.mu.Unlock()
	if listing {
		if wait := time.Until(s.nextEmptiedListing); wait > 0 {
			time.Sleep(wait) // bounded: emptiedListingGap
		}
		t0 := time.Now()
		s.mu.Lock()
		s.reapOrphansLocked(false)
		s.mu.Unlock()
		s.nextEmptiedListing = time.Now().Add(min(3*time.Since(t0), emptiedListingGap))
	}
	for _, t := range batch {
		s.send(t.exit, -1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range batch {
		if s.trees[t.exit.ID] == t.dir {
			s.tryRemoveTree(t.exit.ID, t.dir)
		}
	}
}
