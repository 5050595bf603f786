package core

// The Windows test binary is its own helper child, as in os/exec's tests: started as
// `<test binary> pws-helper <name> args...` it runs one small behaviour instead of
// the tests. These tests run natively on Windows and, in `make test-windows`, under
// Wine (scripts/windows/wine-test.sh).

import (
	"bufio"
	"encoding/json"
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

	"golang.org/x/sys/windows"
)

const helperArg = "pws-helper"

// helperLife bounds how long a sleeping helper lives if a test failed to kill it.
const helperLife = 60 * time.Second

func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		os.Exit(runHelper(os.Args[2], os.Args[3:]))
	}
	os.Exit(failUnusedHelperCommands(m.Run()))
}

// helperArgv is the argv that runs helper command args[0] with the rest of args,
// for a test (it marks the command used).
func helperArgv(args ...string) []string {
	helperName(args[0])
	return selfArgv(args...)
}

// selfArgv is helperArgv for the helper commands themselves (a command that starts
// another does not make it used by a test).
func selfArgv(args ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return append([]string{exe, helperArg}, args...)
}

func helperCmd(args ...string) *exec.Cmd {
	argv := helperArgv(args...)
	return exec.Command(argv[0], argv[1:]...)
}

func selfCmd(args ...string) *exec.Cmd {
	argv := selfArgv(args...)
	return exec.Command(argv[0], argv[1:]...)
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// helperCommands are the behaviours the test binary runs as its own child. Each
// returns the exit code.
var helperCommands = map[string]func(args ...string) int{
	"exit":          cmdExit,
	"sleep":         cmdSleep,
	"args":          cmdArgs,
	"env":           cmdEnv,
	"cwd":           cmdCwd,
	"echo-stdin":    cmdEchoStdin,
	"tree":          cmdTree,
	"sleep-pidfile": cmdSleepPidfile,
	"breakaway":     cmdBreakaway,
	"break-exit":    cmdBreakExit,
	"ignore-break":  cmdIgnoreBreak,
	"host":          cmdHost,
}

func cmdExit(args ...string) int {
	n, _ := strconv.Atoi(args[0])
	return n
}

func cmdSleep(_ ...string) int {
	say("pid=%d", os.Getpid())
	time.Sleep(helperLife)
	return 0
}

// The parsed argv (Go's parser) and CommandLineToArgvW's, and the raw line.
func cmdArgs(_ ...string) int {
	line := windows.UTF16PtrToString(windows.GetCommandLine())
	var argc int32
	argv, err := windows.CommandLineToArgv(windows.GetCommandLine(), &argc)
	var w32 []string
	if err == nil {
		for i := 0; i < int(argc); i++ {
			w32 = append(w32, windows.UTF16PtrToString(&argv[i][0]))
		}
		windows.LocalFree(windows.Handle(uintptrOf(argv)))
	}
	b, _ := json.Marshal(map[string]any{"go": os.Args, "w32": w32, "line": line})
	os.Stdout.Write(append(b, '\n'))
	return 0
}

func cmdEnv(_ ...string) int {
	b, _ := json.Marshal(os.Environ())
	os.Stdout.Write(append(b, '\n'))
	return 0
}

func cmdCwd(_ ...string) int {
	wd, _ := os.Getwd()
	say("%s", wd)
	return 0
}

func cmdEchoStdin(_ ...string) int {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		say("in:%s", sc.Text())
	}
	return 0
}

// tree <depth> <exitEarly> <dir>: a chain of <depth> descendants below this
// node, the deepest sleeping; with exitEarly=1 every intermediate exits once
// its child runs. Each node announces itself as the file <dir>/node-<pid>;
// only the leader holds the output pipe (a pipe held by a leftover is read
// with a bounded drain only where it supports deadlines, see pipe_windows.go).
func cmdTree(args ...string) int {
	depth, _ := strconv.Atoi(args[0])
	dir := args[2]
	total := strconv.Itoa(depth + 1) // nodes in the whole chain, from the leader
	if len(args) > 3 {
		total = args[3]
	}
	os.WriteFile(filepath.Join(dir, "node-"+strconv.Itoa(os.Getpid())), nil, 0o644)
	if depth == 0 {
		time.Sleep(helperLife)
		return 0
	}
	c := selfCmd("tree", strconv.Itoa(depth-1), args[1], dir, total)
	if err := c.Start(); err != nil {
		say("start failed: %v", err)
		return 3
	}
	if args[1] == "1" {
		// Exit early, but only once the whole chain runs.
		n, _ := strconv.Atoi(total)
		waitNodes(dir, n, 20*time.Second)
		return 0
	}
	c.Wait()
	return 0
}

// Writes its pid to args[0] (for processes whose stdout is not ours).
func cmdSleepPidfile(args ...string) int {
	os.WriteFile(args[0]+".tmp", []byte(strconv.Itoa(os.Getpid())), 0o644)
	os.Rename(args[0]+".tmp", args[0])
	time.Sleep(helperLife)
	return 0
}

// Try to start a child outside the job; the job allows no breakaway.
func cmdBreakaway(_ ...string) int {
	c := selfCmd("sleep")
	c.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_BREAKAWAY_FROM_JOB}
	c.Stdout = os.Stdout
	if err := c.Start(); err != nil {
		say("breakaway refused: %v", err)
	} else {
		say("breakaway started pid=%d", c.Process.Pid)
	}
	time.Sleep(helperLife)
	return 0
}

// Exit 7 on CTRL_BREAK_EVENT (Go reports it as os.Interrupt).
func cmdBreakExit(_ ...string) int {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	say("ready pid=%d", os.Getpid())
	select {
	case <-ch:
		say("got break")
		return 7
	case <-time.After(helperLife):
		return 0
	}
}

// Handle CTRL_BREAK_EVENT by ignoring it; only a kill ends this one.
func cmdIgnoreBreak(_ ...string) int {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	say("ready pid=%d", os.Getpid())
	deadline := time.After(helperLife)
	for {
		select {
		case <-ch:
			say("ignored break")
		case <-deadline:
			return 0
		}
	}
}

func cmdHost(args ...string) int {
	return runHost(args)
}

// runHost is a host process of its own, for what the test process cannot do to
// itself: be killed (host death), have no console, sit in a job of its own.
//
//	host tree       starts a 3-deep tree, prints "leader=<pid>" and every "node pid=",
//	                then waits to be killed
//	host break <ms> starts break-exit, cancels it with SIGTERM and the given grace,
//	                prints "outcome=<json>" and exits
func runHost(args []string) int {
	hub := NewHub()
	defer hub.Close(time.Second)
	done := make(chan *Outcome, 1)
	stdout := make(chan string, 64)
	go func() {
		buf := make([]byte, MinBatch)
		var partial []byte
		for {
			n := hub.Next(buf, 100*time.Millisecond)
			if n < 0 {
				return
			}
			forEachEvent(buf[:n], func(typ uint32, payload []byte) {
				switch typ {
				case EvStdout:
					partial = append(partial, payload...)
					for {
						i := strings.IndexByte(string(partial), '\n')
						if i < 0 {
							break
						}
						stdout <- strings.TrimRight(string(partial[:i]), "\r")
						partial = partial[i+1:]
					}
				case EvExit:
					var o Outcome
					json.Unmarshal(payload, &o)
					done <- &o
				}
			})
		}
	}()
	waitLine := func(prefix string) (string, bool) {
		for {
			select {
			case l := <-stdout:
				say("%s", l)
				if strings.HasPrefix(l, prefix) {
					return l, true
				}
			case <-time.After(20 * time.Second):
				return "", false
			}
		}
	}
	switch args[0] {
	case "tree":
		// host tree <dir>
		c, err := Start(hub, &Options{Argv: selfArgv("tree", "2", "0", args[1]), Stdout: StdioPipe})
		if err != nil {
			say("start failed: %v", err)
			return 3
		}
		say("leader=%d", c.Pid())
		if len(waitNodes(args[1], 3, 20*time.Second)) != 3 {
			say("tree did not start")
			return 4
		}
		say("tree ready")
		time.Sleep(helperLife)
		return 0
	case "break":
		grace, _ := strconv.ParseInt(args[1], 10, 64)
		if len(args) > 2 && args[2] == "alloc" {
			// Give this host a console: its children then share it.
			if r, _, err := windows.NewLazySystemDLL("kernel32.dll").NewProc("AllocConsole").Call(); r == 0 {
				say("AllocConsole: %v", err)
			}
		}
		c, err := Start(hub, &Options{Argv: selfArgv("break-exit"), Stdout: StdioPipe, GraceMs: &grace})
		if err != nil {
			say("start failed: %v", err)
			return 3
		}
		if _, ok := waitLine("ready"); !ok {
			return 4
		}
		say("shared console: %v", c.p.sharedConsole)
		if err := c.p.ctrlBreak(); err != nil {
			say("ctrl-break: %v", err)
		}
		c.Cancel(ReasonHost, sigTERM, -1)
		select {
		case o := <-done:
			b, _ := json.Marshal(o)
			say("outcome=%s", b)
			return 0
		case <-time.After(30 * time.Second):
			say("no exit")
			return 5
		}
	}
	return 2
}

// waitNodes waits (bounded) until dir holds n node-<pid> files and returns the pids.
func waitNodes(dir string, n int, within time.Duration) []int {
	deadline := time.Now().Add(within)
	for {
		var pids []int
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if p, ok := strings.CutPrefix(e.Name(), "node-"); ok {
				if pid, err := strconv.Atoi(p); err == nil {
					pids = append(pids, pid)
				}
			}
		}
		if len(pids) >= n || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(20 * time.Millisecond)
	}
}
