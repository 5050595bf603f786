package procfs

import (
	"os"
	"testing"
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
