//go:build linux

package core

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/pawwork/pawwork-supervisor/go/internal/fdcheck"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSpawnCapturesStdoutStderrAndExitCode(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("write", "hello\tout\n", "some err\n", "7"), Stdout: StdioPipe, Stderr: StdioPipe})
	o := h.waitExit(c)
	k := h.kidCopy(c)
	if string(k.stdout) != "hello\tout\n" || string(k.stderr) != "some err\n" {
		t.Errorf("stdout %q stderr %q", k.stdout, k.stderr)
	}
	if o.Code == nil || *o.Code != 7 || o.Signal != nil {
		t.Errorf("code %v signal %v, want 7 and nil", o.Code, o.Signal)
	}
	if o.Reason != ReasonExit || o.Pid != c.Pid() || o.StdoutBytes != int64(len(k.stdout)) || o.StderrBytes != int64(len(k.stderr)) {
		t.Errorf("outcome %s", k.raw)
	}
	if o.Truncated || len(o.Leftovers) != 0 || len(o.Errors) != 0 {
		t.Errorf("outcome %s: want not truncated, no leftovers, no errors", k.raw)
	}
	if o.Phases.RunMs <= 0 || o.DurationMs < o.Phases.RunMs || o.Phases.GraceMs != 0 || o.Phases.KillMs != 0 {
		t.Errorf("phases %+v duration %v", o.Phases, o.DurationMs)
	}
	// The null fields are present and null, not missing: the facade relies on it.
	if !bytes.Contains(k.raw, []byte(`"signal":null`)) || !bytes.Contains(k.raw, []byte(`"leftovers":[]`)) {
		t.Errorf("outcome JSON %s: want \"signal\":null and \"leftovers\":[]", k.raw)
	}
	// Order: each stream's output then its END (the two streams interleave freely),
	// and EXIT last, after both ENDs (checked for every test in cleanup; here
	// explicitly).
	n := len(k.types)
	if n < 3 || k.types[n-1] != EvExit || slices.Index(k.types, EvStdoutEnd) < 0 || slices.Index(k.types, EvStderrEnd) < 0 {
		t.Errorf("event types %v: want both ENDs, then EXIT last", k.types)
	}
	for _, typ := range []uint32{EvStdout, EvStderr} {
		if endAt, lastOut := slices.Index(k.types, typ+EvStdoutEnd-EvStdout), lastIndex(k.types, typ); endAt < lastOut {
			t.Errorf("event types %v: output of type %d after its END", k.types, typ)
		}
	}
	waitDone(t, c) // closed right after EXIT was queued
}

func TestExitCodeZeroAndIgnoredStdio(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("write", "x", "y", "0")})
	o := h.waitExit(c)
	k := h.kidCopy(c)
	if o.Code == nil || *o.Code != 0 || o.StdoutBytes != 0 || len(k.stdout) != 0 {
		t.Errorf("outcome %s", k.raw)
	}
	// Neither stream is piped: EXIT is the only event.
	if len(k.types) != 1 || k.types[0] != EvExit {
		t.Errorf("event types %v, want only EXIT", k.types)
	}
}

// 50 MB must arrive whole, in order and before EXIT.
func TestLargeStdoutArrivesWholeInOrderBeforeExit(t *testing.T) {
	const n = 50 << 20
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("pattern", strconv.Itoa(n), "100000"), Stdout: StdioPipe, Stderr: StdioPipe})
	o := h.waitExit(c)
	k := h.kidCopy(c)
	if len(k.stdout) != n || o.StdoutBytes != n {
		t.Fatalf("got %d bytes (outcome %d), want %d", len(k.stdout), o.StdoutBytes, n)
	}
	want := make([]byte, n)
	fillPattern(want, 0)
	if i := firstDiff(k.stdout, want); i >= 0 {
		t.Fatalf("stdout differs from the pattern at offset %d", i)
	}
	sum := sha256.Sum256(k.stdout)
	if got := fields(string(k.stderr))["sha256"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("the child's checksum %q differs from what arrived", got)
	}
	if *o.Code != 0 {
		t.Errorf("code %d", *o.Code)
	}
}

func lastIndex(s []uint32, v uint32) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

func TestMergedStderrKeepsWriteOrder(t *testing.T) {
	const n = 2000
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("interleave", strconv.Itoa(n)), Stdout: StdioPipe, Stderr: StdioStdout})
	o := h.waitExit(c)
	var want strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&want, "out %d\nerr %d\n", i, i)
	}
	k := h.kidCopy(c)
	if string(k.stdout) != want.String() {
		t.Errorf("merged stream differs at %d", firstDiff(k.stdout, []byte(want.String())))
	}
	if len(k.stderr) != 0 || o.StderrBytes != 0 || o.StdoutBytes != int64(want.Len()) {
		t.Errorf("outcome %s, %d stderr bytes", k.raw, len(k.stderr))
	}
	for _, typ := range k.types {
		if typ == EvStderr || typ == EvStderrEnd {
			t.Fatalf("a stderr event for a merged stream: %v", k.types)
		}
	}
}

// wantError checks err is an *Error with code, the package prefix and text in its message.
func wantError(t *testing.T, err error, code, text string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *Error %s", err, err, code)
	}
	if e.Code != code {
		t.Errorf("code %q, want %q (%v)", e.Code, code, err)
	}
	if !strings.HasPrefix(e.Error(), "pawwork-supervisor: ") {
		t.Errorf("message %q lacks the prefix", e.Error())
	}
	if !strings.Contains(e.Error(), text) {
		t.Errorf("message %q does not mention %q", e.Error(), text)
	}
	return e
}

func TestParseOptionsTypedErrors(t *testing.T) {
	newHarness(t) // for its fd and process checks
	for _, tc := range []struct{ req, text string }{
		{`{"argv":[]}`, "argv must name a program"},
		{`{}`, "argv must name a program"},
		{`{"argv":[""]}`, "argv must name a program"},
		{`{"argv":["a","b\u0000c"]}`, "argv[1] contains a NUL byte"},
		{`{"argv":["a"],"cwd":"x\u0000"}`, "cwd contains a NUL byte"},
		{`{"argv":["a"],"env":["A=1\u0000"]}`, "contains a NUL byte"},
		{`{"argv":["a"],"env":["NOEQUALS"]}`, "is not KEY=VALUE"},
		{`{"argv":["a"],"stdout":"file"}`, `stdout: unknown stdio mode "file"`},
		{`{"argv":["a"],"stdin":"stdout"}`, "only valid for stderr"},
		{`{"argv":["a"],"stderr":"stdout"}`, `needs stdout to be "pipe"`},
		{`{"argv":["a"],"bogus":1}`, `unknown field "bogus"`},
		{`{"argv":"a"}`, "invalid spawn request"},
		{`{"argv":["a"],"graceMs":-1}`, "graceMs -1 out of range"},
		{`{"argv":["a"],"killSignal":65}`, "killSignal 65 out of range"},
		{`not json`, "invalid spawn request"},
	} {
		o, err := ParseOptions([]byte(tc.req))
		if err == nil {
			t.Errorf("ParseOptions(%s) = %+v, want an error", tc.req, o)
			continue
		}
		e := wantError(t, err, "EINVAL", tc.text)
		if e.Errno != syscall.EINVAL {
			t.Errorf("%s: errno %v", tc.req, e.Errno)
		}
	}
	o, err := ParseOptions([]byte(`{"argv":["a","b"],"stdout":"pipe","stderr":"stdout","graceMs":0,"env":[]}`))
	if err != nil || o.GraceMs == nil || *o.GraceMs != 0 || o.Env == nil || len(*o.Env) != 0 || o.Stderr != StdioStdout {
		t.Errorf("valid request: %+v, %v", o, err)
	}
}

func TestStartTypedErrorsLeaveNothingBehind(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "not-exec")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	big := strings.Repeat("x", 200<<10) // over MAX_ARG_STRLEN (128 KiB)
	self := selfExe()

	before := fdcheck.Count()
	for _, tc := range []struct {
		name       string
		o          Options
		code, text string
	}{
		{"empty argv", Options{}, "EINVAL", "argv must name a program"},
		{"NUL in argv", Options{Argv: []string{self, "a\x00b"}}, "EINVAL", "NUL"},
		{"unknown stdio mode", Options{Argv: []string{self}, Stderr: "file"}, "EINVAL", "unknown stdio mode"},
		{"missing bare name", Options{Argv: []string{"pws-no-such-command-4711"}}, "ENOENT", "spawn pws-no-such-command-4711 ENOENT"},
		{"missing path", Options{Argv: []string{filepath.Join(dir, "nope")}}, "ENOENT", "ENOENT"},
		{"missing relative path", Options{Argv: []string{"./nope"}, Cwd: dir}, "ENOENT", "ENOENT"},
		{"not executable", Options{Argv: []string{notExec}}, "EACCES", "EACCES"},
		{"directory", Options{Argv: []string{dir}}, "EACCES", "EACCES"},
		{"cwd missing", Options{Argv: []string{self}, Cwd: filepath.Join(dir, "missing")}, "ENOENT", "cwd"},
		{"cwd is a file", Options{Argv: []string{self}, Cwd: file}, "ENOTDIR", "not a directory"},
		{"cwd under a file", Options{Argv: []string{self}, Cwd: filepath.Join(file, "sub")}, "ENOTDIR", "cwd"},
		{"argument too long", Options{Argv: []string{self, big}, Stdout: StdioPipe, Stdin: StdioPipe, Stderr: StdioPipe}, "E2BIG", "E2BIG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			c, err := h.tryStart(&o)
			if err == nil {
				t.Fatalf("Start succeeded (pid %d), want %s", c.Pid(), tc.code)
			}
			e := wantError(t, err, tc.code, tc.text)
			if tc.code != "EINVAL" && (e.Errno == 0 || e.Syscall == "") {
				t.Errorf("errno %v syscall %q: want both set", e.Errno, e.Syscall)
			}
		})
	}
	if after := fdcheck.Count(); after != before {
		t.Errorf("fds %d before the failed starts, %d after:\n%s", before, after, fdcheck.Describe())
	}
	if kids := waitNoChildren(0); len(kids) > 0 {
		t.Errorf("live children after failed starts: %v", kids)
	}
	if n := h.hub.Next(make([]byte, MinBatch), 1); n != 0 {
		t.Errorf("a failed start queued events (Next = %d)", n)
	}
}

// Regression: a relative argv[0] (or PATH entry) with a relative cwd was joined to
// cwd and then executed after the chdir, i.e. resolved against cwd twice.
func TestRelativeArgv0WithRelativeCwd(t *testing.T) {
	h := newHarness(t)
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(selfExe(), filepath.Join(base, "sub", "probe")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(base)
	c := h.start(&Options{Argv: []string{"./probe", helperArg, helperName("echo"), "ran"}, Cwd: "sub", Stdout: StdioPipe})
	h.waitExit(c)
	if got := string(h.stdout(c)); got != "ran\n" {
		t.Errorf("stdout %q", got)
	}
	env := []string{"PATH=."}
	c = h.start(&Options{Argv: []string{"probe", helperArg, helperName("echo"), "ran"}, Cwd: "sub", Env: &env, Stdout: StdioPipe})
	h.waitExit(c)
	if got := string(h.stdout(c)); got != "ran\n" {
		t.Errorf("PATH=. stdout %q", got)
	}
}

func TestEnvIsExactlyTheGivenOne(t *testing.T) {
	h := newHarness(t)
	env := []string{"A=1", "B=two words", "EMPTY=", "X=a=b"}
	c := h.start(&Options{Argv: helperArgv("env"), Env: &env, Stdout: StdioPipe})
	h.waitExit(c)
	// Without the helper (as here: no helper beside the test binary) the tree has no
	// cgroup: exactly the given one, plus the tree's marker (how escapers are found).
	// With a cgroup nothing is added (TestMarkerOnlyWithoutACgroupAndUnguessable).
	got := strings.Split(strings.TrimSuffix(string(h.stdout(c)), "\n"), "\n")
	if len(got) != len(env)+1 || strings.Join(got[:len(env)], "|") != strings.Join(env, "|") || !strings.HasPrefix(got[len(env)], MarkerVar+"=") {
		t.Errorf("child env %q, want %q plus %s=…", got, env, MarkerVar)
	}

	empty := []string{}
	c = h.start(&Options{Argv: helperArgv("env"), Env: &empty, Stdout: StdioPipe})
	h.waitExit(c)
	if got := string(h.stdout(c)); !strings.HasPrefix(got, MarkerVar+"=") || strings.Count(got, "\n") != 1 {
		t.Errorf("empty env: child saw %q, want only the marker", got)
	}

	// nil Env: the host's environment.
	t.Setenv("PWS_TEST_MARK", "inherited")
	c = h.start(&Options{Argv: helperArgv("env"), Stdout: StdioPipe})
	h.waitExit(c)
	if !strings.Contains(string(h.stdout(c)), "\nPWS_TEST_MARK=inherited\n") && !strings.HasPrefix(string(h.stdout(c)), "PWS_TEST_MARK=inherited\n") {
		t.Errorf("nil env: host variable not inherited")
	}
}

func TestPathLookupUsesChildPath(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	name := "pws-probe-only-in-child-path"
	if err := os.Symlink(selfExe(), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath(name); err == nil {
		t.Fatalf("%s is in the host's PATH", name)
	}
	env := []string{"PATH=/nonexistent-dir:" + dir}
	c := h.start(&Options{Argv: []string{name, helperArg, helperName("echo"), "found"}, Env: &env, Stdout: StdioPipe})
	h.waitExit(c)
	if got := string(h.stdout(c)); got != "found\n" {
		t.Errorf("stdout %q", got)
	}

	// And the host's PATH is not used when the child's has no match.
	if _, err := exec.LookPath("cat"); err != nil {
		t.Skip("no cat in the host PATH")
	}
	env = []string{"PATH=" + dir}
	_, err := h.tryStart(&Options{Argv: []string{"cat"}, Env: &env})
	wantError(t, err, "ENOENT", "spawn cat ENOENT")
	// An empty environment has no PATH at all: the default path is searched, as
	// libuv and execvp do, so a bare "cat" is found in /bin or /usr/bin.
	empty := []string{}
	c, err2 := h.tryStart(&Options{Argv: []string{"cat"}, Env: &empty})
	if err2 != nil {
		t.Fatalf("no PATH: want cat found on the default path, got %v", err2)
	}
	_ = c
}

// fdListArgv lists the child's open fds as "fd <n> <target>" lines. It is a shell,
// not a Go helper: the Go runtime opens fds of its own at start (cgroup files for
// GOMAXPROCS), which would be indistinguishable from inherited ones.
func fdListArgv(t *testing.T) []string {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// ls runs in a child of the shell (the trailing ":" keeps dash from exec'ing it)
	// and lists the shell's fds, so its own directory fd is not among them.
	return []string{sh, "-c", `ls -l /proc/$$/fd/; :`}
}

// childFds parses `ls -l` lines ("... <fd> -> <target>") into fd → target.
func childFds(out []byte) map[string]string {
	fds := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		for i := 1; i+1 < len(f); i++ {
			if f[i] == "->" {
				fds[f[i-1]] = f[i+1]
			}
		}
	}
	return fds
}

func TestOnlyStdioFdsReachChild(t *testing.T) {
	if len(inheritedFds) > 0 {
		t.Logf("this test process inherited fds without close-on-exec (marked close-on-exec by TestMain): %v", inheritedFds)
	}
	h := newHarness(t)
	// Open a few fds in the host first, as Node has plenty.
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	f, _ := os.Open(selfExe())
	defer f.Close()
	for _, mode := range []string{StdioPipe, StdioIgnore} {
		c := h.start(&Options{Argv: fdListArgv(t), Stdin: mode, Stdout: StdioPipe, Stderr: mode})
		h.waitExit(c)
		fds := childFds(h.stdout(c))
		var names []string
		for n := range fds {
			names = append(names, n)
		}
		sort.Strings(names)
		if strings.Join(names, ",") != "0,1,2" {
			t.Errorf("stdio %s: the child has fds %v:\n%s", mode, names, h.stdout(c))
		}
		if mode == StdioIgnore && (fds["0"] != os.DevNull || fds["2"] != os.DevNull) {
			t.Errorf("ignored stdio is %q and %q, want %s", fds["0"], fds["2"], os.DevNull)
		}
	}
}

// Pins a known gap: an fd the host holds without close-on-exec reaches the child,
// because Go's ForkExec closes nothing else (libuv does not either). Node and Go
// open everything close-on-exec, so this concerns fds the host inherited (this very
// test process inherits two from its shell, see TestOnlyStdioFdsReachChild's log)
// or that other native code made. If this fails, the gap was closed: invert it.
func TestHostFdWithoutCloexecStillReachesChild(t *testing.T) {
	h := newHarness(t)
	var p [2]int
	if err := unix.Pipe2(p[:], 0); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	c := h.start(&Options{Argv: fdListArgv(t), Stdout: StdioPipe})
	h.waitExit(c)
	if fds := childFds(h.stdout(c)); !strings.HasPrefix(fds[strconv.Itoa(p[0])], "pipe:") {
		t.Errorf("fd %d (no close-on-exec) did not reach the child; the gap is closed, update this test:\n%s", p[0], h.stdout(c))
	}
}

const (
	bitSIGPIPE = 1 << (13 - 1)
	bitSIGXFSZ = 1 << (25 - 1)
)

func sigLines(t *testing.T, status string) (blk, ign uint64) {
	t.Helper()
	found := 0
	for _, l := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		switch k {
		case "SigBlk":
			blk, found = n, found+1
		case "SigIgn":
			ign, found = n, found+1
		default:
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
	}
	if found != 2 {
		t.Fatalf("no SigBlk/SigIgn in %q", status)
	}
	return blk, ign
}

// cat reads its own /proc/self/status: it changes no signal disposition, so what
// it shows is what it inherited (a Go helper would show the Go runtime's changes).
func catPath(t *testing.T) string {
	p, err := exec.LookPath("cat")
	if err != nil {
		t.Skip("no cat")
	}
	return p
}

func TestChildSignalMaskAndIgnoredSetAreEmpty(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: []string{catPath(t), "/proc/self/status"}, Stdout: StdioPipe})
	h.waitExit(c)
	blk, ign := sigLines(t, string(h.stdout(c)))
	// Dispositions the test process itself inherited as ignored (CI runners set
	// some) pass through exec unchanged: a known gap (issue 3's helper resets them).
	ign &^= hostIgnored(t)
	if blk != 0 || ign != 0 {
		t.Errorf("child SigBlk %016x SigIgn %016x, want both 0", blk, ign)
	}
}

// The child's mask is the mask of the thread that forks it (Go's ForkExec saves the
// thread's mask before fork and restores it in the child). The host may call in
// from a thread that blocks signals (a native thread, a loader that blocks them
// while the Go runtime starts): the child must still start with an empty mask,
// or a SIGTERM ladder would hit a child that has SIGTERM blocked.
func TestChildSignalMaskEmptyWhenSpawnedFromThreadBlockingSignals(t *testing.T) {
	h := newHarness(t)
	cat := catPath(t)
	type result struct {
		c   *Child
		err error
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is dirty after this: it ends with the goroutine (no Unlock).
		var set, old unix.Sigset_t
		for _, s := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGCHLD, syscall.SIGPIPE} {
			set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
		}
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); err != nil {
			res <- result{err: err}
			return
		}
		c, err := h.tryStart(&Options{Argv: []string{cat, "/proc/self/status"}, Stdout: StdioPipe})
		unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
		res <- result{c, err}
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	h.waitExit(r.c)
	blk, _ := sigLines(t, string(h.stdout(r.c)))
	if blk != 0 {
		t.Errorf("child SigBlk %016x, want 0 (the spawning thread's mask leaked into the child)", blk)
	}
}

// Node ignores SIGPIPE (and SIGXFSZ); a child must still get the default SIGPIPE,
// or `yes | head` style pipelines in it never end. Here a host started with both
// ignored supervises cat. In a plain Go binary the runtime takes over both signals,
// so the child sees both at default; in the c-shared library the runtime takes over
// SIGPIPE only (see runtime.sigInstallGoHandler), so SIGXFSZ stays ignored in the
// children there — not observable from this test binary.
func TestChildOfSigpipeIgnoringHostHasDefaultSigpipe(t *testing.T) {
	helperName("host-sigstatus") // its one use, below, may be skipped
	h := newHarness(t)
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ignoring := []string{sh, "-c", `trap '' PIPE XFSZ; exec "$@"`, "sh"}
	// Control: the shell's trap does reach an exec'd program (cat shows both ignored).
	ctl := h.start(&Options{Argv: append(ignoring, catPath(t), "/proc/self/status"), Stdout: StdioPipe})
	h.waitExit(ctl)
	if _, ign := sigLines(t, string(h.stdout(ctl))); ign&^hostIgnored(t) != bitSIGPIPE|bitSIGXFSZ&^hostIgnored(t) {
		t.Fatalf("control: SigIgn %016x, want SIGPIPE and SIGXFSZ", ign)
	}
	c := h.start(&Options{Argv: append(ignoring, helperArgv("host-sigstatus", catPath(t))...), Stdout: StdioPipe, Stderr: StdioPipe})
	o := h.waitExit(c)
	if *o.Code != 0 {
		t.Fatalf("nested host failed: %s", h.stderr(c))
	}
	_, hostIgn := sigLines(t, strings.ReplaceAll(string(h.stderr(c)), "host ", ""))
	_, ign := sigLines(t, string(h.stdout(c)))
	t.Logf("nested host SigIgn %016x; its child's SigIgn %016x", hostIgn, ign)
	if ign&bitSIGPIPE != 0 {
		t.Errorf("the child of a SIGPIPE-ignoring host has SIGPIPE ignored (SigIgn %016x)", ign)
	}
	// Signals ignored by whoever started this test binary stay ignored through
	// every exec (only the issue-3 helper resets them); discount those.
	if extra := ign &^ hostIgnored(t); extra != 0 {
		t.Errorf("child SigIgn %016x (beyond the test host's own %016x), want none", ign, hostIgnored(t))
	}
}

func TestChildLeadsItsOwnSessionAndGroup(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("ids"), Stdout: StdioPipe})
	h.waitExit(c)
	f := fields(string(h.stdout(c)))
	want := strconv.Itoa(c.Pid())
	if f["pid"] != want || f["sid"] != want || f["pgid"] != want {
		t.Errorf("child ids %v, want all %s", f, want)
	}
	mySid, _ := unix.Getsid(0)
	if strconv.Itoa(mySid) == want {
		t.Errorf("child shares the host's session")
	}
}

func TestDescendantsListsTree(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("tree", "2", "2"), Stdout: StdioPipe})
	h.waitFor(c, "7 tree nodes", func(k *kid) bool { return bytes.Count(k.stdout, []byte("node pid=")) == 7 })
	pids := h.trackPrinted(c)
	want := map[int]bool{}
	for _, p := range pids {
		want[p] = true
	}
	if len(want) != 6 {
		t.Fatalf("helper printed %v", pids)
	}
	got := Descendants(c.Pid())
	sort.Ints(got)
	if len(got) != 6 {
		t.Errorf("Descendants(%d) = %v, want the 6 of %v", c.Pid(), got, pids)
	}
	for _, p := range got {
		if !want[p] {
			t.Errorf("Descendants(%d) has %d, not in the tree %v", c.Pid(), p, pids)
		}
	}
	// Children come before grandchildren.
	kids := Descendants(c.Pid())[:2]
	for _, k := range kids {
		if st, _ := procInfo(k); st.ppid != c.Pid() {
			t.Errorf("Descendants: %d listed first is not a child of the leader", k)
		}
	}
	for _, k := range kids {
		if d := Descendants(k); len(d) != 2 {
			t.Errorf("Descendants(%d) = %v, want its 2 leaves", k, d)
		}
	}
	c.Cancel(ReasonStop, 0, -1)
	h.waitExit(c)
	assertAllDead(t, "after cancel", append(pids, c.Pid())...)
	if d := Descendants(c.Pid()); len(d) != 0 {
		t.Errorf("Descendants after cancel: %v", d)
	}
}

// hostIgnored is the ignored-signal set the test process started with.
func hostIgnored(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	_, ign := sigLines(t, string(b))
	return ign
}

// A started child keeps no copy of its argv, cwd and environment: only the spawn
// reads them, and the host sends its whole environment with every spawn.
func TestAStartedChildKeepsNoCopyOfItsEnvironment(t *testing.T) {
	h := newHarness(t)
	env := append(os.Environ(), "PWS_BIG="+strings.Repeat("x", 4096))
	c := h.start(&Options{Argv: []string{"sh", "-c", `printf %s "${#PWS_BIG}"`}, Cwd: os.TempDir(), Env: &env, Stdout: StdioPipe})
	if c.opts.Env != nil || c.opts.Argv != nil || c.opts.Cwd != "" {
		t.Errorf("the child keeps env (%d entries), argv %q, cwd %q after its start", len(derefEnv(c.opts.Env)), c.opts.Argv, c.opts.Cwd)
	}
	if o := h.waitExit(c); o.Code == nil || *o.Code != 0 {
		t.Fatalf("outcome %s", h.kidCopy(c).raw)
	}
	if got := string(h.stdout(c)); got != "4096" {
		t.Errorf("the child saw PWS_BIG of length %q, want 4096", got)
	}
}

func derefEnv(e *[]string) []string {
	if e == nil {
		return nil
	}
	return *e
}
