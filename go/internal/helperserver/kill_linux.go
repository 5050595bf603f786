package helperserver

// Reaping the orphans the helper adopts, and killing what it holds when the host
// is gone.

import (
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/internal/cgroup"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// reapOrphans reaps every exited child that is not a leader the host still holds,
// driven by waitid: it asks the kernel for a zombie child (without reaping it),
// reaps it unless it is a leader, and asks again — no read of /proc while the
// first zombie in the kernel's list is an orphan. A leader waiting for the host's
// "reap" hides the zombies behind it from that question (waitid answers with the
// first one, again and again): then the helper's own children lists are read and
// each non-leader waited for by pid — its children, never all of /proc. Only a
// kernel without children lists makes that a scan of /proc.
func (s *server) reapOrphans() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reapOrphansLocked(false)
}

// reapOrphansSoon is reapOrphans for a SIGCHLD: when a leader's zombie hides the
// rest, the listing is put off by listingDelay and made once for every SIGCHLD
// until then. A thousand leaders ending at once, each held as a zombie until the
// host's "reap", made a thousand listings of a thousand children each. No answer
// waits for it: the host's "reap" is answered after a listing of its own
// (flushReaped), and an orphan's zombie is nobody's member.
func (s *server) reapOrphansSoon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reapOrphansLocked(true) && !s.listingDue {
		s.listingDue = true
		time.AfterFunc(listingDelay, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.listingDue = false
			s.reapOrphansLocked(false)
		})
	}
}

// listingDelay is how long reapOrphansSoon puts a listing off.
const listingDelay = 20 * time.Millisecond

// reapOrphansLocked reaps the ended orphans waitid names; when a leader's zombie
// hides the rest, it lists its children, or with lazy reports that a listing is
// needed. Called with s.mu held.
func (s *server) reapOrphansLocked(lazy bool) (listingNeeded bool) {
	for {
		pid, err := zombieChild()
		if err != nil || pid <= 0 {
			return false // no child has ended (or none is left)
		}
		if _, leader := s.leaders[pid]; leader {
			if lazy {
				return true
			}
			s.reapOrphansListed()
			return false
		}
		s.reapChild(pid)
	}
}

// zombieChild names a child that has ended, without reaping it; 0 when none has.
func zombieChild() (int, error) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_ALL, 0, &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		return siginfoPid(&info), err
	}
}

// siginfoPid is si_pid of a SIGCHLD siginfo (64-bit layout: after signo, errno,
// code and padding).
func siginfoPid(info *unix.Siginfo) int {
	return int(*(*int32)(unsafe.Pointer(uintptr(unsafe.Pointer(info)) + 16)))
}

// reapChild reaps pid if it has ended (never blocks). Called with s.mu held.
func (s *server) reapChild(pid int) bool {
	var ws unix.WaitStatus
	for {
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if got == pid {
			delete(s.letGo, pid)
			return true
		}
		return false
	}
}

// reapOrphansListed reaps the ended non-leader children the helper's children
// lists name. Called with s.mu held.
func (s *server) reapOrphansListed() {
	if !procfs.ChildrenListed() {
		var zombies []int
		procfs.Scan(func(st procfs.Stat) {
			if st.PPid == s.self && st.State == 'Z' {
				zombies = append(zombies, st.Pid)
			}
		})
		for _, pid := range zombies {
			if _, leader := s.leaders[pid]; !leader {
				s.reapChild(pid)
			}
		}
		return
	}
	for _, pid := range procfs.ChildrenOf(s.self) {
		if _, leader := s.leaders[pid]; !leader {
			s.reapChild(pid)
		}
	}
}

// killAll ends every process the helper holds — its descendants, and the sessions
// of the leaders it started — except the leftovers the host let go (and their
// descendants). Members are stopped first so that none forks out during the kill;
// the whole thing is bounded (killAllBound).
func (s *server) killAll() {
	deadline := time.Now().Add(killAllBound)
	s.mu.Lock()
	for id, dir := range s.trees {
		if !s.letGoTrees[id] {
			cgroup.Kill(dir)
		}
	}
	s.mu.Unlock()
	for {
		victims := s.held()
		if len(victims) == 0 || time.Now().After(deadline) {
			break
		}
		for _, st := range victims {
			procfs.Signal(st, unix.SIGSTOP)
		}
		for _, st := range victims {
			procfs.Signal(st, unix.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
		s.reapAll()
	}
	s.reapAll()
	if left := s.held(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: %d processes survived the host-death kill (bound %v)\n", len(left), killAllBound)
	}
}

// killAllBound caps the host-death kill; what survives it is reported on stderr.
const killAllBound = 5 * time.Second

func (s *server) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// held lists the live processes the helper must kill when the host is gone.
func (s *server) held() []procfs.Stat {
	all, kids := procfs.LiveTable()
	s.mu.Lock()
	letGo := map[int]bool{}
	for pid, start := range s.letGo {
		if st, ok := all[pid]; ok && st.Start == start {
			letGo[pid] = true
		}
	}
	sessions := map[int]bool{}
	for pid := range s.leaders {
		sessions[pid] = true
	}
	s.mu.Unlock()
	var out []procfs.Stat
	seen := map[int]bool{s.self: true}
	var walk func(pid int)
	walk = func(pid int) {
		for _, k := range kids[pid] {
			if seen[k] || letGo[k] {
				continue
			}
			seen[k] = true
			out = append(out, all[k])
			walk(k)
		}
	}
	walk(s.self)
	for _, st := range all {
		if !seen[st.Pid] && !letGo[st.Pid] && (sessions[st.Sid] || sessions[st.Pgid]) {
			seen[st.Pid] = true
			out = append(out, st)
			walk(st.Pid)
		}
	}
	return out
}
