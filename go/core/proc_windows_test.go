package core

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// bound is the hang detector of every wait here: generous (Wine on 2 shared cores
// is slow); exceeding it fails the test.
const bound = 30 * time.Second

func uintptrOf[T any](p *T) uintptr { return uintptr(unsafe.Pointer(p)) }

// forEachEvent walks one Next batch.
func forEachEvent(batch []byte, f func(typ uint32, payload []byte)) {
	for off := 0; off+EventHeaderSize <= len(batch); {
		typ := binary.LittleEndian.Uint32(batch[off+RecordTypeAt:])
		n := int(binary.LittleEndian.Uint32(batch[off+RecordLenAt:]))
		f(typ, batch[off+EventHeaderSize:off+EventHeaderSize+n])
		off += EventHeaderSize + n
	}
}

// underWine reports whether this runs under Wine (ntdll exports wine_get_version).
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// winHarness pumps one hub and records stdout and the outcome per child. Its
// cleanup checks that every process a test saw (by a handle opened when its pid
// was printed, so a re-used pid is never mistaken for it) is gone, and kills and
// fails on any that is not.
type winHarness struct {
	t   *testing.T
	hub *Hub

	mu      sync.Mutex
	changed chan struct{}
	out     map[int64]*bytes.Buffer
	exits   map[int64]*Outcome
	tracked map[int]windows.Handle
}

func newWinHarness(t *testing.T) *winHarness {
	h := &winHarness{t: t, hub: NewHub(), changed: make(chan struct{}),
		out: map[int64]*bytes.Buffer{}, exits: map[int64]*Outcome{}, tracked: map[int]windows.Handle{}}
	go func() {
		buf := make([]byte, MinBatch)
		for {
			n := h.hub.Next(buf, 50*time.Millisecond)
			if n < 0 {
				return
			}
			h.mu.Lock()
			for off := 0; off+EventHeaderSize <= n; {
				typ := binary.LittleEndian.Uint32(buf[off+RecordTypeAt:])
				plen := int(binary.LittleEndian.Uint32(buf[off+RecordLenAt:]))
				id := int64(binary.LittleEndian.Uint64(buf[off+RecordHandleAt:]))
				payload := buf[off+EventHeaderSize : off+EventHeaderSize+plen]
				off += EventHeaderSize + plen
				switch typ {
				case EvStdout, EvStderr:
					if h.out[id] == nil {
						h.out[id] = &bytes.Buffer{}
					}
					h.out[id].Write(payload)
				case EvExit:
					var o Outcome
					if err := json.Unmarshal(payload, &o); err != nil {
						t.Errorf("EXIT payload %q: %v", payload, err)
					}
					h.exits[id] = &o
				}
			}
			close(h.changed)
			h.changed = make(chan struct{})
			h.mu.Unlock()
		}
	}()
	t.Cleanup(h.cleanup)
	return h
}

func (h *winHarness) start(o *Options) *Child {
	h.t.Helper()
	c, err := Start(h.hub, o)
	if err != nil {
		h.t.Fatalf("Start(%q): %v", o.Argv, err)
	}
	h.track(c.Pid())
	return c
}

// track opens a handle on pid now, so that later checks name that very process.
func (h *winHarness) track(pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.tracked[pid]; ok {
		return
	}
	ph, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return // already gone
	}
	h.tracked[pid] = ph
}

func (h *winHarness) stdout(c *Child) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b := h.out[c.ID()]; b != nil {
		return b.String()
	}
	return ""
}

// waitFor waits until cond holds for c's stdout, failing after bound.
func (h *winHarness) waitFor(c *Child, what string, cond func(out string) bool) string {
	h.t.Helper()
	deadline := time.After(bound)
	for {
		h.mu.Lock()
		ch := h.changed
		out := ""
		if b := h.out[c.ID()]; b != nil {
			out = b.String()
		}
		h.mu.Unlock()
		if cond(out) {
			return out
		}
		select {
		case <-ch:
		case <-deadline:
			h.t.Fatalf("no %s within %v; stdout %q", what, bound, out)
		}
	}
}

func (h *winHarness) waitExit(c *Child) *Outcome {
	h.t.Helper()
	deadline := time.After(bound)
	for {
		h.mu.Lock()
		ch, o := h.changed, h.exits[c.ID()]
		h.mu.Unlock()
		if o != nil {
			return o
		}
		select {
		case <-ch:
		case <-deadline:
			h.t.Fatalf("no EXIT of %q within %v; stdout %q", c.opts.Argv, bound, h.stdout(c))
		}
	}
}

var pidLine = regexp.MustCompile(`pid=(\d+)`)

// trackPrinted tracks every "pid=N" printed by c and returns the pids.
func (h *winHarness) trackPrinted(c *Child) []int {
	var pids []int
	for _, m := range pidLine.FindAllStringSubmatch(h.stdout(c), -1) {
		pid, _ := strconv.Atoi(m[1])
		h.track(pid)
		pids = append(pids, pid)
	}
	return pids
}

func (h *winHarness) alive(pid int) bool {
	h.mu.Lock()
	ph, ok := h.tracked[pid]
	h.mu.Unlock()
	if !ok {
		h.t.Fatalf("pid %d is not tracked", pid)
	}
	return handleAlive(ph)
}

func handleAlive(ph windows.Handle) bool {
	ev, err := windows.WaitForSingleObject(ph, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

// waitGone waits (bounded) until none of pids is alive; it returns the survivors.
func (h *winHarness) waitGone(pids []int, within time.Duration) []int {
	deadline := time.Now().Add(within)
	for {
		var left []int
		for _, p := range pids {
			if h.alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *winHarness) cleanup() {
	h.hub.Close(5 * time.Second)
	h.mu.Lock()
	tracked := h.tracked
	h.tracked = map[int]windows.Handle{}
	h.mu.Unlock()
	for pid, ph := range tracked {
		// Forget/Close kills running trees: give it a moment before judging.
		if ev, _ := windows.WaitForSingleObject(ph, 5000); ev == uint32(windows.WAIT_TIMEOUT) {
			h.t.Errorf("leak: process %d still runs after the test", pid)
			windows.TerminateProcess(ph, 1)
		}
		windows.CloseHandle(ph)
	}
}

func code(o *Outcome) string {
	if o.Code != nil {
		return strconv.Itoa(*o.Code)
	}
	if o.Signal != nil {
		return *o.Signal
	}
	return "<none>"
}

func TestWindowsExitCodes(t *testing.T) {
	h := newWinHarness(t)
	for _, n := range []int{0, 1, 42, 255, 3000} {
		c := h.start(&Options{Argv: helperArgv("exit", strconv.Itoa(n))})
		o := h.waitExit(c)
		if o.Code == nil || *o.Code != n || o.Reason != ReasonExit || o.Containment != "job" {
			t.Errorf("exit %d: outcome %+v (code %s)", n, o, code(o))
		}
	}
}

func TestWindowsSpawnErrors(t *testing.T) {
	h := newWinHarness(t)
	_, err := Start(h.hub, &Options{Argv: []string{`C:\no\such\program.exe`}})
	var e *Error
	if !errors.As(err, &e) || e.Code != "ENOENT" {
		t.Errorf("missing program: %v, want ENOENT", err)
	}
	_, err = Start(h.hub, &Options{Argv: []string{"pws-surely-not-on-path"}})
	if !errors.As(err, &e) || e.Code != "ENOENT" {
		t.Errorf("missing name: %v, want ENOENT", err)
	}
	dir := tempDir(t)
	notExe := filepath.Join(dir, "data.exe")
	os.WriteFile(notExe, []byte("not a program"), 0o644)
	_, err = Start(h.hub, &Options{Argv: []string{notExe}})
	if !errors.As(err, &e) || e.Code == "" {
		t.Errorf("not a program: %v, want a coded error", err)
	}
	_, err = Start(h.hub, &Options{Argv: helperArgv("exit", "0"), Cwd: filepath.Join(dir, "nope")})
	if !errors.As(err, &e) || e.Code != "ENOENT" {
		t.Errorf("missing cwd: %v, want ENOENT", err)
	}
}

// tempDir replaces t.TempDir, whose cleanup fails under Wine (PLATFORM-NOTES.md):
// the directory is removed with os.RemoveAll and a failure only logged. Its name
// has a space, as users' profile directories do.
func tempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "pws test ")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(d); err != nil {
			t.Logf("removing %s: %v", d, err)
		}
	})
	return d
}

func TestWindowsEnvCwdStdin(t *testing.T) {
	h := newWinHarness(t)
	env := []string{"PWS_ONE=1", "pws_two=a b", "PWS_TWO=last wins", "Path=" + os.Getenv("PATH")}
	c := h.start(&Options{Argv: helperArgv("env"), Env: &env, Stdout: StdioPipe})
	h.waitExit(c)
	var got []string
	if err := json.Unmarshal(bytes.TrimSpace([]byte(h.stdout(c))), &got); err != nil {
		t.Fatalf("env output %q: %v", h.stdout(c), err)
	}
	joined := "\n" + strings.Join(got, "\n") + "\n"
	for _, want := range []string{"\nPWS_ONE=1\n", "\nPWS_TWO=last wins\n"} {
		if !strings.Contains(joined, want) {
			t.Errorf("env %q lacks %q", got, strings.TrimSpace(want))
		}
	}
	if strings.Contains(joined, "a b") {
		t.Errorf("env %q kept the overridden pws_two", got)
	}
	if !strings.Contains(strings.ToUpper(joined), "\nSYSTEMROOT=") {
		t.Errorf("env %q lacks SYSTEMROOT", got)
	}

	dir := tempDir(t)
	c = h.start(&Options{Argv: helperArgv("cwd"), Cwd: dir, Stdout: StdioPipe})
	h.waitExit(c)
	if got := strings.TrimSpace(h.stdout(c)); !strings.EqualFold(filepath.Clean(got), filepath.Clean(dir)) {
		t.Errorf("cwd: child says %q, want %q", got, dir)
	}

	c = h.start(&Options{Argv: helperArgv("echo-stdin"), Stdin: StdioPipe, Stdout: StdioPipe, Stderr: StdioStdout})
	if err := c.Write([]byte("hello\nworld\n"), 1); err != nil {
		t.Fatal(err)
	}
	c.CloseStdin()
	o := h.waitExit(c)
	if out := strings.ReplaceAll(h.stdout(c), "\r", ""); out != "in:hello\nin:world\n" || code(o) != "0" {
		t.Errorf("echo-stdin: %q, exit %s", out, code(o))
	}
}

// The standard handles go to their child alone: a child started later must not
// inherit the parent's end of an earlier child's stdin pipe (that child would then
// never see EOF) nor of its stdout.
func TestWindowsPipesInheritedByTheirChildOnly(t *testing.T) {
	h := newWinHarness(t)
	reader := h.start(&Options{Argv: helperArgv("echo-stdin"), Stdin: StdioPipe, Stdout: StdioPipe})
	sleeper := h.start(&Options{Argv: helperArgv("sleep"), Stdin: StdioPipe, Stdout: StdioPipe})
	h.waitFor(sleeper, "pid", func(s string) bool { return strings.Contains(s, "pid=") })
	reader.CloseStdin()
	o := h.waitExit(reader) // would hang if the sleeper held the reader's stdin
	if code(o) != "0" || o.Truncated {
		t.Errorf("outcome %+v", o)
	}
	sleeper.Cancel(ReasonStop, sigKILL, 0)
	h.waitExit(sleeper)
}

// A tree whose intermediates exit early: the grandchildren are orphans, which
// taskkill /t misses; the job still holds them.
func TestWindowsCancelKillsOrphanedGrandchildren(t *testing.T) {
	h := newWinHarness(t)
	// No output pipe: a leftover that keeps the pipe open is the drain's business
	// (and under Wine the child's conhost.exe, which inherits the pipe, lives on as
	// long as the leftover does).
	c, pids := h.startTree(&Options{}, 3, true)
	deepest := h.deepest(pids)
	o := h.waitExit(c) // the leader exits early; the deepest sleeps on
	if code(o) != "0" {
		t.Errorf("leader: %s", code(o))
	}
	if !h.alive(deepest) {
		t.Fatalf("the deepest node %d died with its ancestors; leftovers are let go by default", deepest)
	}
	found := false
	for _, l := range o.Leftovers {
		found = found || l == deepest
	}
	if !found {
		t.Errorf("leftovers %v lack the deepest node %d (nodes %v)", o.Leftovers, deepest, pids)
	}
	// Let-go leftovers are no longer ours; end this one by hand.
	h.mu.Lock()
	windows.TerminateProcess(h.tracked[deepest], 1)
	h.mu.Unlock()

	// The same tree with killTreeOnExit: nothing survives the leader.
	c, pids = h.startTree(&Options{Stdout: StdioPipe, KillTreeOnExit: true, GraceMs: ptr(int64(0))}, 3, true)
	o = h.waitExit(c)
	if left := h.waitGone(pids, 5*time.Second); len(left) > 0 {
		t.Errorf("killTreeOnExit left %v running; outcome %+v", left, o)
	}
}

func ptr[T any](v T) *T { return &v }

// breakGrace is the grace of the Ctrl-Break tests: long on Windows, where the event
// must arrive; short under Wine, which does not deliver it (those tests skip there).
func breakGrace() int64 {
	if underWine() {
		return 1500
	}
	return 10000
}

// startTree starts `tree depth exitEarly` and returns the child and, once all
// depth+1 nodes announced themselves, their pids (tracked).
func (h *winHarness) startTree(o *Options, depth int, exitEarly bool) (*Child, []int) {
	h.t.Helper()
	dir := tempDir(h.t)
	early := "0"
	if exitEarly {
		early = "1"
	}
	o.Argv = helperArgv("tree", strconv.Itoa(depth), early, dir)
	c := h.start(o)
	pids := waitNodes(dir, depth+1, bound)
	for _, p := range pids {
		h.track(p)
	}
	if len(pids) != depth+1 {
		h.t.Fatalf("tree: %d of %d nodes started: %v", len(pids), depth+1, pids)
	}
	return c, pids
}

// deepest is the node started last (the youngest).
func (h *winHarness) deepest(pids []int) int {
	best, bestAt := 0, int64(0)
	for _, p := range pids {
		if at, ok := createdAt(p); ok && at >= bestAt {
			best, bestAt = p, at
		}
	}
	return best
}

func TestWindowsCancelWholeTree(t *testing.T) {
	h := newWinHarness(t)
	c, pids := h.startTree(&Options{Stdout: StdioPipe, GraceMs: ptr(int64(0))}, 3, false)
	if ms := c.p.members(); len(ms) != 4 {
		t.Errorf("members %v, want the 4 nodes %v", ms, pids)
	}
	if d := Descendants(c.Pid()); len(d) != 3 {
		t.Errorf("Descendants(%d) = %v, want 3 of %v", c.Pid(), d, pids)
	}
	c.Cancel(ReasonStop, 0, -1)
	o := h.waitExit(c)
	if o.Reason != ReasonStop || code(o) != "SIGKILL" || len(o.Errors) != 0 {
		t.Errorf("outcome %+v (%s)", o, code(o))
	}
	if left := h.waitGone(pids, time.Second); len(left) > 0 {
		t.Errorf("after EXIT, %v still run", left)
	}
}

// CREATE_BREAKAWAY_FROM_JOB is refused: the job allows no breakaway.
func TestWindowsNoBreakaway(t *testing.T) {
	h := newWinHarness(t)
	c := h.start(&Options{Argv: helperArgv("breakaway"), Stdout: StdioPipe, GraceMs: ptr(int64(0))})
	out := h.waitFor(c, "the attempt", func(s string) bool { return strings.Contains(s, "breakaway ") })
	h.trackPrinted(c)
	if !strings.Contains(out, "breakaway refused") {
		if underWine() {
			t.Skipf("Wine lets a process break away from a job without BREAKAWAY_OK (%q); real Windows refuses it", out)
		}
		t.Errorf("a member broke away from the job: %q", out)
	}
	c.Cancel(ReasonStop, sigKILL, 0)
	h.waitExit(c)
}

// A `start /b` grandchild of a .cmd (detached from cmd, not from the job), in a
// directory whose name has spaces, started without a shell.
func TestWindowsStartBGrandchildIsInTheTree(t *testing.T) {
	h := newWinHarness(t)
	dir := tempDir(t)
	exe, _ := os.Executable()
	script := filepath.Join(dir, "detach me.cmd")
	pidfile := filepath.Join(dir, "gc.pid")
	// cmd waits until the grandchild runs (Wine's start returns before it does).
	body := "@echo off\r\nstart \"\" /b \"" + exe + "\" " + helperArg + " " + helperName("sleep-pidfile") + " \"" + pidfile + "\"\r\n" +
		":wait\r\nif not exist \"" + pidfile + "\" goto wait\r\n"
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c := h.start(&Options{Argv: []string{script}, Stdout: StdioPipe, KillTreeOnExit: true, GraceMs: ptr(int64(0))})
	var gc int
	for deadline := time.Now().Add(bound); gc == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidfile); err == nil {
			gc, _ = strconv.Atoi(string(b))
		}
	}
	if gc == 0 {
		t.Fatalf("the start /b grandchild did not start; stdout %q", h.stdout(c))
	}
	h.track(gc)
	pids := []int{gc}
	o := h.waitExit(c)
	if left := h.waitGone(pids, 5*time.Second); len(left) > 0 {
		t.Errorf("the start /b grandchild %v survived killTreeOnExit; outcome %+v", left, o)
	}
	if len(o.Leftovers) == 0 || o.Reason != ReasonExit {
		t.Errorf("outcome %+v: want reason exit with the grandchild in leftovers", o)
	}
}

// Ctrl-Break reaches the group: a member that handles it exits gracefully within
// the grace, and no kill is needed.
func TestWindowsGracefulCtrlBreak(t *testing.T) {
	h := newWinHarness(t)
	c := h.start(&Options{Argv: helperArgv("break-exit"), Stdout: StdioPipe, GraceMs: ptr(breakGrace())})
	h.waitFor(c, "ready", func(s string) bool { return strings.Contains(s, "ready") })
	sendErr := c.p.ctrlBreak() // what the ladder's first step does, with its error
	c.Cancel(ReasonStop, sigTERM, -1)
	o := h.waitExit(c)
	if code(o) != "7" {
		if underWine() && code(o) == "SIGKILL" {
			t.Skipf("Wine did not deliver CTRL_BREAK_EVENT to the child's group (shared console %v, send error %v, outcome %+v)", c.p.sharedConsole, sendErr, o)
		}
		t.Errorf("outcome %+v (%s): want the child's own exit 7 after Ctrl-Break; stdout %q", o, code(o), h.stdout(c))
	}
	if o.Phases.KillMs != 0 {
		t.Errorf("a kill was needed: %+v", o.Phases)
	}
}

// A member that ignores Ctrl-Break is killed by TerminateJobObject after the grace,
// and EXIT comes only once the job counts no active process.
func TestWindowsBreakIgnoringMemberIsKilled(t *testing.T) {
	h := newWinHarness(t)
	c := h.start(&Options{Argv: helperArgv("ignore-break"), Stdout: StdioPipe, GraceMs: ptr(int64(500))})
	h.waitFor(c, "ready", func(s string) bool { return strings.Contains(s, "ready") })
	pids := h.trackPrinted(c)
	c.Cancel(ReasonStop, sigTERM, -1)
	o := h.waitExit(c)
	if code(o) != "SIGKILL" || o.Phases.GraceMs < 400 || o.Phases.KillMs == 0 || len(o.Errors) != 0 {
		t.Errorf("outcome %+v (%s): want a kill after the grace", o, code(o))
	}
	if left := h.waitGone(pids, time.Second); len(left) > 0 {
		t.Errorf("%v still run after EXIT", left)
	}
}

// hostCmd starts the test binary as a host of its own. Its stdout is a newPipe,
// whose reading end has deadlines, so no read here can hang the test.
type hostOut struct {
	r  *os.File
	sc *bufio.Scanner
}

func hostCmd(t *testing.T, flags uint32, args ...string) (*exec.Cmd, *hostOut) {
	cmd := helperCmd(append([]string{"host"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: flags}
	r, w, err := newPipe(true)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = w
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); r.Close() })
	r.SetReadDeadline(time.Now().Add(2 * bound))
	return cmd, &hostOut{r, bufio.NewScanner(r)}
}

// readLines collects the host's lines until one starts with until (bounded).
func readLines(t *testing.T, out *hostOut, until string) []string {
	t.Helper()
	var got []string
	sc := out.sc
	for sc.Scan() {
		got = append(got, sc.Text())
		if strings.HasPrefix(sc.Text(), until) {
			return got
		}
	}
	t.Fatalf("no %q from the host (%v): %q", until, sc.Err(), got)
	return nil
}

// The host dies (TerminateProcess, no cleanup of its own): the kernel closes its
// job handles, and kill-on-close ends the whole tree.
func TestWindowsHostDeathKillsTree(t *testing.T) {
	h := newWinHarness(t)
	dir := tempDir(t)
	host, out := hostCmd(t, 0, "tree", dir)
	lines := readLines(t, out, "tree ready")
	pids := waitNodes(dir, 3, time.Second)
	for _, p := range pids {
		h.track(p)
	}
	if len(pids) != 3 {
		t.Fatalf("tree %v; host printed %q", pids, lines)
	}
	host.Process.Kill()
	if left := h.waitGone(pids, 10*time.Second); len(left) > 0 {
		t.Errorf("after the host died, %v still run", left)
	}
}

// hostOutcome reads a host's lines up to its "outcome=" line and decodes that outcome.
func hostOutcome(t *testing.T, out *hostOut) (Outcome, []string) {
	t.Helper()
	lines := readLines(t, out, "outcome=")
	var o Outcome
	if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[len(lines)-1], "outcome=")), &o); err != nil {
		t.Fatal(err)
	}
	return o, lines
}

// A host without a console (as Electron's main process): its children get a hidden
// console of their own, and Ctrl-Break is sent by attaching to it.
func TestWindowsGracefulCtrlBreakFromHostWithoutConsole(t *testing.T) {
	_, out := hostCmd(t, windows.DETACHED_PROCESS, "break", strconv.FormatInt(breakGrace(), 10))
	o, lines := hostOutcome(t, out)
	if code(&o) != "7" {
		if underWine() {
			t.Skipf("under Wine, Ctrl-Break via AttachConsole from a console-less host did not arrive (outcome %+v, lines %q)", o, lines)
		}
		t.Errorf("outcome %+v: want the child's own exit 7; host said %q", o, lines)
	}
}

// The host runs inside a job of its own that allows no breakaway (as under a CI
// runner or libuv): the child's job nests in it.
func TestWindowsNestedJob(t *testing.T) {
	outer, err := newJob()
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(outer)
	h := newWinHarness(t)
	dir := tempDir(t)
	host, out := hostCmd(t, windows.CREATE_SUSPENDED, "tree", dir)
	ph, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_QUERY_INFORMATION, false, uint32(host.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(ph)
	if err := windows.AssignProcessToJobObject(outer, ph); err != nil {
		t.Fatalf("assign the host to the outer job: %v", err)
	}
	resumeProcess(t, host.Process.Pid)
	lines := readLines(t, out, "")
	if strings.HasPrefix(lines[0], "start failed") {
		if underWine() {
			t.Skipf("Wine cannot nest jobs: %q", lines[0])
		}
		t.Fatalf("spawn inside a job failed: %q", lines[0])
	}
	lines = readLines(t, out, "tree ready")
	pids := waitNodes(dir, 3, time.Second)
	for _, p := range pids {
		h.track(p)
	}
	if len(pids) != 3 {
		t.Fatalf("tree %v; host printed %q", pids, lines)
	}
	// Closing the outer job (kill-on-close) ends the host and, nested, the tree.
	windows.CloseHandle(outer)
	outer = 0
	if left := h.waitGone(pids, 10*time.Second); len(left) > 0 {
		t.Errorf("%v survived the outer job's close", left)
	}
}

// resumeProcess resumes the main thread of a process created suspended.
func resumeProcess(t *testing.T, pid int) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPTHREAD, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(snap)
	var te windows.ThreadEntry32
	te.Size = uint32(unsafe.Sizeof(te))
	for err = windows.Thread32First(snap, &te); err == nil; err = windows.Thread32Next(snap, &te) {
		if int(te.OwnerProcessID) != pid {
			continue
		}
		th, err := windows.OpenThread(windows.THREAD_SUSPEND_RESUME, false, te.ThreadID)
		if err != nil {
			t.Fatal(err)
		}
		windows.ResumeThread(th)
		windows.CloseHandle(th)
		return
	}
	t.Fatalf("no thread of %d", pid)
}

func TestWindowsForgetKillsRunningTree(t *testing.T) {
	h := newWinHarness(t)
	c, pids := h.startTree(&Options{Stdout: StdioPipe}, 2, false)
	c.Forget()
	if left := h.waitGone(pids, 10*time.Second); len(left) > 0 {
		t.Errorf("after Forget, %v still run", left)
	}
}

func TestWindowsNewPipeHasDeadlines(t *testing.T) {
	r, w, err := newPipe(true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatalf("SetReadDeadline on newPipe's parent end: %v", err)
	}
	buf := make([]byte, 16)
	if _, err := r.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read with a deadline and no writer activity: %v", err)
	}
	fmt.Fprint(w, "abc")
	n, eof, err := readNow(r, buf)
	if n != 3 || eof || err != nil || string(buf[:n]) != "abc" {
		t.Errorf("readNow = %d %q %v %v", n, buf[:n], eof, err)
	}
	w.Close()
	if n, eof, err := readNow(r, buf); n != 0 || !eof || err != nil {
		t.Errorf("readNow after the writer closed = %d %v %v", n, eof, err)
	}
}

// The same from a console-less host that then allocates a console of its own:
// its children share that console, and the event is sent directly.
func TestWindowsGracefulCtrlBreakOnAllocatedConsole(t *testing.T) {
	_, out := hostCmd(t, windows.DETACHED_PROCESS, "break", strconv.FormatInt(breakGrace(), 10), "alloc")
	o, lines := hostOutcome(t, out)
	if code(&o) != "7" {
		if underWine() {
			t.Skipf("under Wine, Ctrl-Break on a shared, allocated console did not arrive (outcome %+v, lines %q)", o, lines)
		}
		t.Errorf("outcome %+v: want the child's own exit 7; host said %q", o, lines)
	}
}
