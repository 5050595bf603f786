//go:build linux

package core

// The test binary is its own helper child, as in os/exec's tests: started as
// `<test binary> pws-helper <name> args...` it runs one tiny behaviour instead of
// the tests. The helper is chosen by argv rather than by an environment variable
// so that the environment tests see exactly the environment they passed. Also as
// there: a test naming an unknown command panics (helperName), the child given one
// exits 2 saying so, and a full run fails if a command is used by no test.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const helperArg = "pws-helper"

// helperLife bounds how long a sleeping helper lives if a test failed to kill it.
const helperLife = 5 * time.Minute

// inheritedFds are the fds ≥ 3 this test process inherited without close-on-exec
// (from `go test` or the shell); TestMain marks them close-on-exec so that the fd
// tests measure the library, not the environment, and reports them here.
var inheritedFds []string

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == HelperArg {
		os.Exit(HelperMain()) // this binary is also the library's helper executable
	}
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		os.Exit(runHelper(os.Args[2], os.Args[3:]))
	}
	inheritedFds = markInheritedFdsCloexec()
	// Warm up the netpoller (its epoll fd and eventfd are created on first use and
	// kept), so that per-test fd counts compare like with like.
	if r, w, err := os.Pipe(); err == nil {
		r.SetReadDeadline(time.Now())
		r.Close()
		w.Close()
	}
	os.Exit(failUnusedHelperCommands(m.Run()))
}

// helperArgv is the argv that runs helper command name in a child.
func helperArgv(name string, args ...string) []string {
	if name == "fork" && len(args) > 2 {
		helperName(args[2]) // the grandchild's command
	}
	return append([]string{selfExe(), helperArg, helperName(name)}, args...)
}

func selfExe() string {
	p, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return p
}

// helperCommands are the behaviours the test binary runs as its own child. Each
// returns the exit code.
var helperCommands = map[string]func(args ...string) int{
	"echo":           cmdEcho,
	"write":          cmdWrite,
	"pattern":        cmdPattern,
	"writes":         cmdWrites,
	"progress":       cmdProgress,
	"interleave":     cmdInterleave,
	"sleep":          cmdSleep,
	"ignore-term":    cmdIgnoreTerm,
	"tick":           cmdTick,
	"fork":           cmdFork,
	"tree":           cmdTree,
	"cat":            cmdCat,
	"ids":            cmdIds,
	"env":            cmdEnv,
	"host-sigstatus": hostSigstatus,
}

// echo args... : the args joined by spaces, then a newline
func cmdEcho(args ...string) int {
	fmt.Println(strings.Join(args, " "))
	return 0
}

// write <stdout text> <stderr text> <exit code>
func cmdWrite(args ...string) int {
	os.Stdout.WriteString(args[0])
	os.Stderr.WriteString(args[1])
	code, _ := strconv.Atoi(args[2])
	return code
}

// pattern <n> <block>: n pattern bytes to stdout, then sha256=<hex> to stderr
func cmdPattern(args ...string) int {
	h := sha256.New()
	if !writePattern(args, func(b []byte, _ int64) { h.Write(b) }) {
		return 3
	}
	fmt.Fprintf(os.Stderr, "sha256=%s\n", hex.EncodeToString(h.Sum(nil)))
	return 0
}

// writePattern writes args[0] pattern bytes to stdout in blocks of args[1], calling
// written after each block with the block and the total so far; false if a write
// failed.
func writePattern(args []string, written func(b []byte, total int64)) bool {
	n, _ := strconv.ParseInt(args[0], 10, 64)
	block, _ := strconv.Atoi(args[1])
	buf := make([]byte, block)
	for off := int64(0); off < n; {
		b := buf[:min(int64(block), n-off)]
		fillPattern(b, off)
		if _, err := os.Stdout.Write(b); err != nil {
			return false
		}
		off += int64(len(b))
		written(b, off)
	}
	return true
}

// writes <n> <count> <pause ms>: count writes of n pattern bytes, paused between
func cmdWrites(args ...string) int {
	n, _ := strconv.Atoi(args[0])
	count, _ := strconv.Atoi(args[1])
	ms, _ := strconv.Atoi(args[2])
	b := make([]byte, n*count)
	fillPattern(b, 0)
	for i := 0; i < count; i++ {
		if i > 0 {
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		os.Stdout.Write(b[i*n : (i+1)*n])
	}
	return 0
}

// progress <n> <block>: pattern to stdout, "w=<total>" to stderr after each block
func cmdProgress(args ...string) int {
	if !writePattern(args, func(_ []byte, total int64) { fmt.Fprintf(os.Stderr, "w=%d\n", total) }) {
		return 3
	}
	return 0
}

// interleave <n>: "out i" on stdout then "err i" on stderr, n times
func cmdInterleave(args ...string) int {
	n, _ := strconv.Atoi(args[0])
	for i := 0; i < n; i++ {
		fmt.Fprintf(os.Stdout, "out %d\n", i)
		fmt.Fprintf(os.Stderr, "err %d\n", i)
	}
	return 0
}

// sleep: prints "ready pid=N", then sleeps
func cmdSleep(args ...string) int {
	fmt.Printf("ready pid=%d\n", os.Getpid())
	time.Sleep(helperLife)
	return 0
}

// ignore-term: ignores SIGTERM, prints "ready pid=N", sleeps
func cmdIgnoreTerm(args ...string) int {
	signal.Ignore(syscall.SIGTERM)
	fmt.Printf("ready pid=%d\n", os.Getpid())
	time.Sleep(helperLife)
	return 0
}

// tick: prints "ready pid=N", then "tick" every 100 ms
func cmdTick(args ...string) int {
	fmt.Printf("ready pid=%d\n", os.Getpid())
	for end := time.Now().Add(helperLife); time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
		if _, err := os.Stdout.WriteString("tick\n"); err != nil {
			return 3
		}
	}
	return 0
}

// fork <wait|exit|stdin-eof> <setsid 0|1> <helper> args...: starts a grandchild
// running <helper> with stdin on /dev/null and stdout and stderr inherited, prints
// "gc=<pid>", then sleeps, exits, or exits at stdin EOF.
func cmdFork(args ...string) int {
	cmd := exec.Command(selfExe(), append([]string{helperArg}, args[2:]...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: args[1] == "1"}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Printf("gc=%d\n", cmd.Process.Pid)
	switch args[0] {
	case "wait":
		time.Sleep(helperLife)
	case "stdin-eof":
		io.Copy(io.Discard, os.Stdin)
	}
	return 0
}

// tree <depth> <width>: a tree of sleeping processes, each prints "node pid=N"
func cmdTree(args ...string) int {
	depth, _ := strconv.Atoi(args[0])
	width, _ := strconv.Atoi(args[1])
	if depth > 0 {
		for i := 0; i < width; i++ {
			cmd := exec.Command(selfExe(), helperArg, "tree", strconv.Itoa(depth-1), args[1])
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
	}
	fmt.Printf("node pid=%d ppid=%d\n", os.Getpid(), os.Getppid())
	time.Sleep(helperLife)
	return 0
}

// cat: copies stdin to stdout until EOF
func cmdCat(args ...string) int {
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		return 3
	}
	return 0
}

// ids: pid, session id and process group id
func cmdIds(args ...string) int {
	sid, _ := unix.Getsid(0)
	fmt.Printf("pid=%d sid=%d pgid=%d\n", os.Getpid(), sid, unix.Getpgrp())
	return 0
}

// env: every environment entry on its own line
func cmdEnv(args ...string) int {
	for _, kv := range os.Environ() {
		fmt.Println(kv)
	}
	return 0
}

// patternPeriod is prime, so no two 64 KiB chunks of a stream line up with the
// period: a reordered, lost or repeated chunk shows.
const patternPeriod = 65521

var patternTable = func() []byte {
	t := make([]byte, patternPeriod)
	x := uint32(2463534242)
	for i := range t {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		t[i] = byte(x)
	}
	return t
}()

// fillPattern writes the test pattern for stream offsets [off, off+len(b)) (by
// copy, which stays fast under -race).
func fillPattern(b []byte, off int64) {
	for len(b) > 0 {
		n := copy(b, patternTable[off%patternPeriod:])
		b, off = b[n:], off+int64(n)
	}
}

// host-sigstatus <cat>: a host started with SIGPIPE ignored (as Node runs): it
// supervises `<cat> /proc/self/status` and copies the child's Sig* lines to stdout,
// and its own to stderr.
func hostSigstatus(args ...string) int {
	cat := args[0]
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Sig") {
				fmt.Fprintln(os.Stderr, "host", l)
			}
		}
	}
	hub := NewHub()
	c, err := Start(hub, &Options{Argv: []string{cat, "/proc/self/status"}, Stdout: StdioPipe})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var out []byte
	buf := make([]byte, MinBatch)
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		n := hub.Next(buf, 100*time.Millisecond)
		for off := 0; off < n; {
			typ, plen := leU32(buf[off+RecordTypeAt:]), int(leU32(buf[off+RecordLenAt:]))
			payload := buf[off+EventHeaderSize : off+EventHeaderSize+plen]
			off += EventHeaderSize + plen
			switch typ {
			case EvStdout:
				out = append(out, payload...)
			case EvExit:
				sc := bufio.NewScanner(strings.NewReader(string(out)))
				for sc.Scan() {
					if strings.HasPrefix(sc.Text(), "Sig") {
						fmt.Println(sc.Text())
					}
				}
				hub.Close(time.Second)
				return 0
			}
		}
	}
	c.Cancel(ReasonHost, sigKILL, 0)
	fmt.Fprintln(os.Stderr, "no EXIT within 20 s")
	return 2
}

// markInheritedFdsCloexec sets close-on-exec on every fd ≥ 3 that lacks it and
// returns a description of each.
func markInheritedFdsCloexec() []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var found []string
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue
		}
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		found = append(found, fmt.Sprintf("%d -> %s", fd, target))
		unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
	}
	return found
}

// The fixture switch's own checks, in os/exec's manner: an unknown command fails
// loudly on both sides (the test that names it panics; the child given it exits 2
// naming it), and a command no test names is found.
func TestHelperCommandsUnknownAndUnused(t *testing.T) {
	func() {
		defer func() {
			if recover() == nil {
				t.Error("helperArgv of an unknown command did not panic")
			}
		}()
		helperArgv("no-such-command")
	}()
	if _, ok := helperCommandUsed.Load("no-such-command"); ok {
		t.Error("an unknown command was recorded as used")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, selfExe(), helperArg, "no-such-command").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), `unknown helper command "no-such-command"`) {
		t.Errorf("child given an unknown command: %v, %q; want exit status 2 naming it", err, out)
	}

	var used sync.Map
	used.Store("a", true)
	cmds := map[string]func(...string) int{"a": cmdEcho, "b": cmdEcho, "c": cmdEcho}
	if got := unusedHelperCommands(cmds, &used); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("unused commands %q, want [b c]", got)
	}
}
