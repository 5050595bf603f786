package helperserver

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// A reaped tree whose cgroup is still occupied is removed by the inotify watch on
// its cgroup.events once its last process ends: nothing else runs here (no tick, no
// SIGCHLD loop), so only the watch can remove it.
func TestOccupiedTreeCgroupIsRemovedByItsEventsWatch(t *testing.T) {
	mount, err := cgroup2Mount()
	if err != nil {
		t.Skip(err)
	}
	own, _ := os.ReadFile("/proc/self/cgroup")
	rel := ""
	for _, line := range strings.Split(string(own), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			rel = p
		}
	}
	dir := filepath.Join(mount, rel, fmt.Sprintf("pws-test-watch-%d", os.Getpid()))
	if err := unix.Mkdir(dir, 0o755); err != nil {
		t.Skipf("no writable cgroup v2 here: %v", err)
	}
	t.Cleanup(func() { unix.Rmdir(dir) })
	if _, err := os.Stat(filepath.Join(dir, "cgroup.events")); err != nil {
		t.Skip(err)
	}
	sleeper := exec.Command("sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(sleeper.Process.Pid)), 0); err != nil {
		t.Skipf("cannot move a process into %s: %v", dir, err)
	}
	s := newServer(-1)
	s.trees[1] = dir // reaped by the host: not in s.ids
	s.sweepTrees(false)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the occupied cgroup was removed: %v", err)
	}
	if len(s.watched) != 1 {
		t.Fatalf("the occupied cgroup is not watched: %v", s.watched)
	}
	s.sweepTrees(false) // a SIGCHLD sweep leaves a watched tree alone
	sleeper.Process.Kill()
	sleeper.Wait()
	deadline := time.Now().Add(10 * time.Second) // a hang bound, not a timing
	for {
		if _, err := os.Stat(dir); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there 10 s after its last process ended", dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.trees) != 0 || len(s.watched) != 0 || len(s.watchIDs) != 0 {
		t.Errorf("after the removal: trees %v, watched %v, watchIDs %v", s.trees, s.watched, s.watchIDs)
	}
}

// reapOrphans reaps an ended orphan without a scan of /proc, and never a leader
// the host still holds, even one that ended first.
func TestReapOrphansReapsOrphansButNotHeldLeaders(t *testing.T) {
	s, leaderCmd, orphan := heldLeaderAndOrphan(t)
	s.reapOrphans()
	if st, ok := procfs.ReadStat(orphan.Process.Pid); ok && st.PPid == os.Getpid() {
		t.Errorf("the orphan %d was not reaped: %+v", orphan.Process.Pid, st)
	}
	if st, ok := procfs.ReadStat(leaderCmd.Process.Pid); !ok || !st.Dead() {
		t.Errorf("the held leader %d was reaped (or is not a zombie): %+v %v", leaderCmd.Process.Pid, st, ok)
	}
	var ws unix.WaitStatus
	unix.Wait4(leaderCmd.Process.Pid, &ws, 0, nil)
	leaderCmd.Process.Release() // their pidfds, now, not at a later GC (the fuzz target counts fds)
	orphan.Process.Release()
}

// heldLeaderAndOrphan makes two zombie children of the test: one a server holds as
// its leader, one an orphan it does not know. Both are forked from one thread,
// which the test keeps: a process's children are listed per thread, and waitid
// looks at the calling thread's list first, in the order of the forks, so the
// leader's zombie comes first and hides the orphan's (as in the helper, where a
// leader held for the host comes before the orphans adopted after it).
func heldLeaderAndOrphan(t *testing.T) (*server, *exec.Cmd, *exec.Cmd) {
	t.Helper()
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
	leaderCmd := exec.Command("true")
	if err := leaderCmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, leaderCmd.Process.Pid)
	orphan := exec.Command("true")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	waitZombie(t, orphan.Process.Pid)
	s := newServer(-1)
	s.leaders[leaderCmd.Process.Pid] = &leader{pid: leaderCmd.Process.Pid}
	return s, leaderCmd, orphan
}

func waitZombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, ok := procfs.ReadStat(pid); ok && st.Dead() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d did not end within 10 s", pid)
		}
		time.Sleep(time.Millisecond)
	}
}

// On a SIGCHLD (reapOrphansSoon), an orphan's zombie that a held leader's zombie
// hides from waitid is reaped by the listing put off by listingDelay, made once for
// the SIGCHLDs until then; the held leader is never reaped.
func TestReapOrphansSoonReapsAHiddenOrphanOnce(t *testing.T) {
	s, leaderCmd, orphan := heldLeaderAndOrphan(t)
	s.reapOrphansSoon()
	s.reapOrphansSoon() // a second SIGCHLD before the listing: no second one
	s.mu.Lock()
	due := s.listingDue
	s.mu.Unlock()
	if !due {
		t.Errorf("the orphan hidden behind the held leader did not put a listing off")
	}
	deadline := time.Now().Add(10 * time.Second) // a hang bound, not a timing
	for {
		st, ok := procfs.ReadStat(orphan.Process.Pid)
		if !ok || st.PPid != os.Getpid() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the orphan %d was not reaped within 10 s: %+v", orphan.Process.Pid, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st, ok := procfs.ReadStat(leaderCmd.Process.Pid); !ok || !st.Dead() {
		t.Errorf("the held leader %d was reaped (or is not a zombie): %+v %v", leaderCmd.Process.Pid, st, ok)
	}
	var ws unix.WaitStatus
	unix.Wait4(leaderCmd.Process.Pid, &ws, 0, nil)
	leaderCmd.Process.Release()
	orphan.Process.Release()
}

// reapEmptied sends an emptied tree's exit only after the helper's other zombies
// are reaped, one hidden behind a held leader's zombie included (a listing of the
// children); the held leader is never reaped, and the next listing is put off.
func TestReapEmptiedReapsAHiddenOrphanBeforeTheExit(t *testing.T) {
	s, leaderCmd, orphan := heldLeaderAndOrphan(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	s.fd = fds[0]
	before := time.Now()
	s.reapEmptied([]emptiedTree{{exit: wire.Msg{Op: "exit", ID: 7, Reaped: true}}})
	if st, ok := procfs.ReadStat(orphan.Process.Pid); ok && st.PPid == os.Getpid() {
		t.Errorf("the exit was sent with the orphan %d still a zombie: %+v", orphan.Process.Pid, st)
	}
	if st, ok := procfs.ReadStat(leaderCmd.Process.Pid); !ok || !st.Dead() {
		t.Errorf("the held leader %d was reaped (or is not a zombie): %+v %v", leaderCmd.Process.Pid, st, ok)
	}
	buf := make([]byte, 256)
	unix.SetNonblock(fds[1], true)
	n, _, _, _, err := unix.Recvmsg(fds[1], buf, nil, 0)
	if err != nil {
		t.Fatalf("no exit sent: %v", err)
	}
	if m, err := wire.Decode(buf[:n]); err != nil || m.Op != "exit" || m.ID != 7 || !m.Reaped {
		t.Errorf("sent %q (%v), want the exit of 7, reaped", buf[:n], err)
	}
	if next := s.nextEmptiedListing; !next.After(before) || next.After(time.Now().Add(emptiedListingGap)) {
		t.Errorf("next listing at %v (now %v): want a pause of at most %v after this one", next, time.Now(), emptiedListingGap)
	}
	var ws unix.WaitStatus
	unix.Wait4(leaderCmd.Process.Pid, &ws, 0, nil)
	leaderCmd.Process.Release()
	orphan.Process.Release()
}
