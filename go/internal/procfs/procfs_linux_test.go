package procfs

import (
	"bufio"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A comm may hold spaces and parentheses: the fields are those after its last ')'.
func TestParseStatTakesTheFieldsAfterTheLastParenthesis(t *testing.T) {
	line := "4242 (a) b (c)) S 1 4242 4240 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 987654 0 0"
	st, ok := ParseStat(4242, []byte(line))
	want := Stat{Pid: 4242, PPid: 1, Pgid: 4242, Sid: 4240, State: 'S', Threads: 1, Start: 987654}
	if !ok || st != want {
		t.Fatalf("ParseStat = %+v, %v; want %+v", st, ok, want)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2 3"} {
		if st, ok := ParseStat(4242, []byte(bad)); ok {
			t.Errorf("ParseStat(%q) = %+v, want not ok", bad, st)
		}
	}
}

func TestReadStatAndLiveTableSeeThisProcess(t *testing.T) {
	self := os.Getpid()
	st, ok := ReadStat(self)
	if !ok || st.Pid != self || st.PPid != os.Getppid() || st.Dead() || st.Start == 0 {
		t.Fatalf("ReadStat(self) = %+v, %v", st, ok)
	}
	all, kids := LiveTable()
	if got := all[self]; got.Key() != st.Key() || got.PPid != st.PPid || got.Sid != st.Sid { // the state may differ (R, S)
		t.Errorf("LiveTable has %+v for this process, ReadStat %+v", all[self], st)
	}
	found := false
	for _, k := range kids[os.Getppid()] {
		found = found || k == self
	}
	if !found {
		t.Errorf("LiveTable does not list this process among its parent's children")
	}
	if uid, ok := RealUID(self); !ok || uid != os.Getuid() {
		t.Errorf("RealUID(self) = %d, %v; want %d", uid, ok, os.Getuid())
	}
}

func TestEnvironHas(t *testing.T) {
	t.Setenv("PROCFS_TEST_MARK", "x") // after the process started: not in /proc/self/environ
	if has, sure := EnvironHas(os.Getpid(), []byte("PROCFS_TEST_MARK=x\x00")); has || !sure {
		t.Errorf("EnvironHas of a variable set after the start = %v, %v; want false, true", has, sure)
	}
	if has, sure := EnvironHas(-1, []byte("A=1\x00")); has || sure {
		t.Errorf("EnvironHas of no process = %v, %v; want false, false", has, sure)
	}
}

func TestPidsSkipsWhatIsNotAPid(t *testing.T) {
	got := Pids([]byte(" 12 7\n\n300 x9 4294967296 5\t6\n"))
	want := []int{12, 7, 300, 4294967296, 5, 6}
	if len(got) != len(want) {
		t.Fatalf("Pids = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Pids = %v, want %v", got, want)
		}
	}
}

// startGroup starts sh -c script as the leader of a session (and group) of its
// own, and returns it with its stat.
func startGroup(t *testing.T, script string) (*exec.Cmd, Stat) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n') // the script says when its members run
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	st, ok := ReadStat(cmd.Process.Pid)
	if !ok {
		t.Fatal("no stat of the leader")
	}
	return cmd, st
}

func groupOf(pgid int) []int {
	var out []int
	Scan(func(st Stat) {
		if st.Pgid == pgid && !st.Dead() {
			out = append(out, st.Pid)
		}
	})
	return out
}

func waitGroupEmpty(pgid int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		left := groupOf(pgid)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SignalGroup signals the group its leader's pid names only while that pid names
// the leader it was given: a start time that is not the leader's signals nothing,
// the right one signals every member, leader included.
func TestSignalGroupSignalsThePinnedLeadersGroup(t *testing.T) {
	if !GroupSignalPinned() {
		t.Skip("the kernel has no PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9)")
	}
	cmd, st := startGroup(t, "sleep 100 & sleep 100 & echo ready; wait")
	if got := groupOf(st.Pid); len(got) != 3 {
		t.Fatalf("group %d: %v, want the leader and two sleeps", st.Pid, got)
	}
	other := st
	other.Start++ // another process that had the same pid
	if SignalGroup(other, unix.SIGKILL) {
		t.Fatal("SignalGroup sent to a group whose leader has another start time")
	}
	time.Sleep(20 * time.Millisecond)
	if got := groupOf(st.Pid); len(got) != 3 {
		t.Fatalf("a refused SignalGroup still hit the group: %v left", got)
	}
	if !SignalGroup(st, unix.SIGKILL) {
		t.Fatal("SignalGroup to the pinned leader's group was not sent")
	}
	cmd.Wait()
	if left := waitGroupEmpty(st.Pid, 5*time.Second); len(left) > 0 {
		t.Fatalf("members left 5 s after the group's SIGKILL: %v", left)
	}
}

// Once the leader is reaped, SignalGroup signals nothing, even while members of
// its group live on (the autoReap protocol relies on it: a group signal that races
// with the helper's reap reaches no process).
func TestSignalGroupOfAReapedLeaderSignalsNothing(t *testing.T) {
	if !GroupSignalPinned() {
		t.Skip("the kernel has no PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9)")
	}
	cmd, st := startGroup(t, "sleep 100 & echo ready; exit 0")
	cmd.Wait() // reaps the leader; its sleep lives on in its group
	members := groupOf(st.Pid)
	if len(members) != 1 {
		t.Fatalf("group %d after its leader's reap: %v, want the sleep alone", st.Pid, members)
	}
	t.Cleanup(func() { unix.Kill(members[0], unix.SIGKILL) })
	if SignalGroup(st, unix.SIGKILL) {
		t.Fatal("SignalGroup sent through a reaped leader")
	}
	time.Sleep(20 * time.Millisecond)
	if now, ok := ReadStat(members[0]); !ok || now.Dead() {
		t.Fatalf("the sleep of a reaped leader's group was signalled")
	}
}
