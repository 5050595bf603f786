package core

// The macOS helper, for real: these run in the workflow's macOS job (make test's
// test-go, and its own step), never on the Linux machines the core is written on.
//
// The test binary plays every part, chosen by argv: the library's helper
// (HelperArg), a host that supervises trees through the library (darwinHost), a
// tree's leader (darwinTree) and its members (darwinSleep).

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/helperserver"
	"golang.org/x/sys/unix"
)

const (
	darwinHost  = "pws-darwin-host"
	darwinTree  = "pws-darwin-tree"
	darwinSleep = "pws-darwin-sleep"
	// darwinLife bounds every process these tests start, should a test fail to
	// end it.
	darwinLife = 5 * time.Minute
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case HelperArg:
			os.Exit(helperserver.Main())
		case darwinHost:
			os.Exit(runDarwinHost(os.Args[2]))
		case darwinTree:
			os.Exit(runDarwinTree(os.Args[2], os.Args[3]))
		case darwinSleep:
			ready := ""
			if len(os.Args) > 3 {
				ready = os.Args[3]
			}
			os.Exit(runDarwinSleep(os.Args[2], ready))
		}
	}
	os.Exit(m.Run())
}

func selfExe(t testing.TB) string {
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runDarwinSleep is a tree member: "plain", "setsid" (leaves the session and the
// group: only the parent link ties it to the tree) or "ignore-term" (needs the
// SIGKILL after the grace). Once set, it creates the file ready (if given).
func runDarwinSleep(how, ready string) int {
	switch how {
	case "setsid":
		if _, err := unix.Setsid(); err != nil {
			return 3
		}
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	}
	if ready != "" {
		if err := os.WriteFile(ready, nil, 0o644); err != nil {
			return 3
		}
	}
	time.Sleep(darwinLife)
	return 0
}

// runDarwinTree is a leader: it starts its members, writes every pid (its own
// first) to file, and then sleeps ("stay") or exits at once ("exit": the members
// are leftovers of a natural exit).
func runDarwinTree(file, then string) int {
	self, err := os.Executable()
	if err != nil {
		return 3
	}
	pids := []string{strconv.Itoa(os.Getpid())}
	var readies []string
	for _, how := range []string{"plain", "setsid", "ignore-term"} {
		ready := file + "." + how + ".ready"
		cmd := exec.Command(self, darwinSleep, how, ready)
		if err := cmd.Start(); err != nil {
			return 3
		}
		pids = append(pids, strconv.Itoa(cmd.Process.Pid))
		readies = append(readies, ready)
	}
	// The members must be in their state (setsid done, TERM ignored) before the
	// test acts: each says so with its ready file (bounded wait).
	deadline := time.Now().Add(30 * time.Second)
	for _, ready := range readies {
		for {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if time.Now().After(deadline) {
				return 5
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := os.WriteFile(file+".tmp", []byte(strings.Join(pids, " ")+"\n"), 0o644); err != nil {
		return 3
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		return 3
	}
	if then == "exit" {
		return 0
	}
	time.Sleep(darwinLife)
	return 0
}

// runDarwinHost supervises two trees through the library, with the helper: "kept"
// (its leader stays) and "left" (its leader exits: its members are let go). It
// prints "ready <helper pid> <containment of kept>" once both are set, then waits
// to be killed.
func runDarwinHost(dir string) int {
	self, err := os.Executable()
	if err != nil {
		return 3
	}
	Configure(Config{HelperPath: &self})
	hub := NewHub()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			hub.Next(buf, time.Second)
		}
	}()
	info := Containment()
	if info.Mode != "helper" {
		fmt.Printf("no-helper %s\n", info.Reason)
		return 4
	}
	kept, err := Start(hub, &Options{Argv: []string{self, darwinTree, filepath.Join(dir, "kept"), "stay"}})
	if err != nil {
		fmt.Printf("start: %v\n", err)
		return 4
	}
	left, err := Start(hub, &Options{Argv: []string{self, darwinTree, filepath.Join(dir, "left"), "exit"}})
	if err != nil {
		fmt.Printf("start: %v\n", err)
		return 4
	}
	select {
	case <-left.Done():
	case <-time.After(30 * time.Second):
		fmt.Printf("left's leader did not end within 30s\n")
		return 4
	}
	fmt.Printf("ready %d %s\n", info.HelperPid, kept.p.containment())
	time.Sleep(darwinLife)
	return 0
}

func readPids(t *testing.T, file string) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(file)
		if err == nil {
			var out []int
			for _, f := range strings.Fields(string(b)) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("%s: %q", file, b)
				}
				out = append(out, pid)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written within 30s", file)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive: kill(pid, 0) finds it and it is not a zombie.
func alive(pid int) bool { return processState(pid) == ProcAlive }

// The host is SIGKILLed with two trees: every member of the kept tree dies (its
// leader, a plain member, one that left the session, one that ignores SIGTERM)
// within the helper's bound, the helper exits, and the leftovers the host let go
// at the other tree's natural exit, and an unrelated process, survive.
func TestDarwinHostDeathKillsTrees(t *testing.T) {
	dir := t.TempDir()
	unrelated := exec.Command(selfExe(t), darwinSleep, "plain")
	if err := unrelated.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { unrelated.Process.Kill(); unrelated.Wait() }()

	hostCmd := exec.Command(selfExe(t), darwinHost, dir)
	hostCmd.Stderr = os.Stderr
	out, err := hostCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hostCmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(60 * time.Second):
		hostCmd.Process.Kill()
		t.Fatal("the host did not get ready within 60s")
	}
	kept := readPids(t, filepath.Join(dir, "kept"))
	left := readPids(t, filepath.Join(dir, "left"))
	defer func() { // whatever the outcome, nothing of ours outlives the test (left[0] exited long ago)
		for _, pid := range append(kept, left[1:]...) {
			unix.Kill(pid, unix.SIGKILL)
		}
	}()
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "ready" {
		hostCmd.Process.Kill()
		hostCmd.Wait()
		t.Fatalf("host said %q", line)
	}
	if !strings.HasPrefix(f[2], "helper+") {
		t.Errorf("containment of a tree registered with the helper: %q", f[2])
	}
	helperPid, _ := strconv.Atoi(f[1])
	for _, pid := range append(kept, left[1:]...) {
		if !alive(pid) {
			t.Fatalf("pid %d is not alive before the host's death", pid)
		}
	}

	hostCmd.Process.Signal(syscall.SIGKILL)
	hostCmd.Wait()
	killedAt := time.Now()

	// The helper's bound is 5s (SIGTERM, 0.5s grace, SIGKILL); 15s for a loaded runner.
	deadline := killedAt.Add(15 * time.Second)
	for {
		var living []int
		for _, pid := range append([]int{helperPid}, kept...) {
			if alive(pid) {
				living = append(living, pid)
			}
		}
		if len(living) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alive 15s after the host's SIGKILL: %v (helper %d, kept tree %v)", living, helperPid, kept)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the kept tree and the helper were gone %v after the host's SIGKILL", time.Since(killedAt).Round(time.Millisecond))
	for _, pid := range left[1:] {
		if !alive(pid) {
			t.Errorf("leftover %d, let go at its leader's natural exit, was killed", pid)
		}
	}
	if !alive(unrelated.Process.Pid) {
		t.Errorf("an unrelated process (%d) was killed", unrelated.Process.Pid)
	}
}

// Containment names the helper when it is up, and the fallback with a reason when
// it is disabled; a spawn then is not registered.
func TestDarwinContainment(t *testing.T) {
	self := selfExe(t)
	Configure(Config{HelperPath: &self})
	defer func() {
		if err := stopHelper(10 * time.Second); err != nil {
			t.Error(err)
		}
		Configure(Config{Helper: new(string)})
	}()
	info := Containment()
	if info.Mode != "helper" || info.HelperPid <= 0 || info.HelperPath != self {
		t.Fatalf("containment %+v: want the helper %s", info, self)
	}
	hub := NewHub()
	defer hub.Close(5 * time.Second)
	go func() {
		buf := make([]byte, 64<<10)
		for hub.Next(buf, time.Second) >= 0 {
			select {
			case <-hub.closed:
				return
			default:
			}
		}
	}()
	c, err := Start(hub, &Options{Argv: []string{"/bin/sh", "-c", "exit 0"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.p.containment(); got != "helper+pgroup+ptable" {
		t.Errorf("containment of a spawn with the helper: %q", got)
	}
	select {
	case <-c.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("sh -c 'exit 0' did not end within 30s")
	}

	off := "off"
	Configure(Config{Helper: &off})
	if err := stopHelper(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	info = Containment()
	if info.Mode != "fallback" || !strings.Contains(info.Reason, "disabled") {
		t.Fatalf("containment with the helper off: %+v", info)
	}
	c, err = Start(hub, &Options{Argv: []string{"/bin/sh", "-c", "exit 0"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.p.containment(); got != "pgroup+ptable" {
		t.Errorf("containment of a spawn without the helper: %q", got)
	}
	<-c.Done()
}

// A helper of another build is refused at its hello, and the library says so.
func TestDarwinHelperOfAnotherBuild(t *testing.T) {
	// The helper and the library are one binary here: a wrapper script that puts
	// another build id in the helper's hello is not possible, so the check is driven
	// from the other side: a "helper" that says hello with a wrong build.
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-helper")
	script := "#!/bin/sh\nprintf '{\"op\":\"hello\",\"pid\":%d,\"build\":\"pws-build-id:other\"}\\n' $$ >&3\nexec sleep 30\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	Configure(Config{Helper: &fake})
	defer func() {
		stopHelper(10 * time.Second)
		Configure(Config{Helper: new(string)})
	}()
	info := Containment()
	if info.Mode != "fallback" || !strings.Contains(info.Reason, "another build") {
		t.Fatalf("containment with a helper of another build: %+v", info)
	}
}
