package core

import (
	"encoding/json"
	"runtime"
	"strings"
	"time"
)

// Stdio modes for one of the child's standard streams.
const (
	StdioIgnore  = "ignore"  // /dev/null (NUL on Windows)
	StdioPipe    = "pipe"    // a pipe to the host, delivered as events
	StdioInherit = "inherit" // the host's own fd 0, 1 or 2
	StdioStdout  = "stdout"  // stderr only: the same pipe as stdout (2>&1), one ordered stream
	StdioSocket  = "socket"  // as "pipe", over a socketpair (Node's 'pipe' on Unix); not on Windows
)

// Defaults for the zero value of the corresponding Options fields (the first three
// are the C ABI's PWS_DEFAULT_*_MS, checked against go/capi/pws.h by go/capi).
const (
	// DefaultGrace is the time between the first signal and SIGKILL: BASELINE's
	// `timeout` option default, so a Process call site sees the same ladder.
	DefaultGrace = 5000 * time.Millisecond
	// DefaultDrainIdle bounds how long the drain waits for the next chunk once the
	// leader has exited: long enough for a tree that is still flushing (each chunk
	// re-arms it), short enough that a silent `sleep 100 &` holding stdout costs a
	// shell tool one second, not forever.
	DefaultDrainIdle = 1000 * time.Millisecond
	// DefaultDrainMax caps the whole drain after the leader's exit even while a
	// holder keeps writing: the most an exit can be delayed by a process we do not own.
	DefaultDrainMax = 10000 * time.Millisecond
	// confirmBound caps the SIGKILL/confirm phase; a tree still not empty then is
	// reported in Outcome.Errors and Outcome.Leftovers.
	confirmBound = 5 * time.Second
)

// Options describe one child. JSON names are those of the C ABI request.
type Options struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH (the
	// child's PATH when Env sets one) unless it contains a path separator. Required.
	Argv []string `json:"argv"`
	// Cwd is the child's working directory; empty means the host's.
	Cwd string `json:"cwd,omitempty"`
	// Env is the child's whole environment as KEY=VALUE; nil means the host's
	// environment, an empty non-nil slice means an empty one.
	Env *[]string `json:"env,omitempty"`
	// Stdin, Stdout, Stderr: "pipe", "inherit" or "ignore"; empty means "ignore".
	// Stderr may also be "stdout" (merged into the stdout pipe, in write order). Any
	// of them may be "fd:N": a duplicate of the host's fd N (StdioFdPrefix).
	Stdin  string `json:"stdin,omitempty"`
	Stdout string `json:"stdout,omitempty"`
	Stderr string `json:"stderr,omitempty"`
	// KillSignal is the first signal of a cancellation; 0 means SIGTERM.
	KillSignal int `json:"killSignal,omitempty"`
	// GraceMs is the wait between the first signal and SIGKILL; nil means
	// DefaultGrace, 0 means SIGKILL at once.
	GraceMs *int64 `json:"graceMs,omitempty"`
	// TimeoutMs is a run-time limit after which the child is cancelled with reason
	// "timeout"; 0 or nil means none.
	TimeoutMs *int64 `json:"timeoutMs,omitempty"`
	// KillTreeOnExit kills what the leader leaves behind when it exits by itself;
	// false leaves it running, reported in Outcome.Leftovers and no longer owned.
	KillTreeOnExit bool `json:"killTreeOnExit,omitempty"`
	// HoldLeftovers keeps the tree owned after the leader exits by itself: leftovers are
	// not let go (the helper still kills them if the host dies), a cancel still kills
	// them, and the EXIT event waits until the tree is empty; an EvClose event with
	// the outcome so far comes at the leader's exit and the end of its streams.
	HoldLeftovers bool `json:"holdLeftovers,omitempty"`
	// DrainIdleMs and DrainMaxMs bound the drain after the leader's exit (see
	// DefaultDrainIdle, DefaultDrainMax); nil means the default, 0 means do not wait.
	DrainIdleMs *int64 `json:"drainIdleMs,omitempty"`
	DrainMaxMs  *int64 `json:"drainMaxMs,omitempty"`
	// Terminal, when set, runs the leader on a pseudo-terminal of this size, as the
	// leader of a session whose controlling terminal it is (terminal.go): its fds
	// 0-2 are the terminal, the terminal's output comes as stdout events, Write
	// writes to the terminal. Stdin, Stdout and Stderr must then be unset.
	Terminal *TerminalSize `json:"terminal,omitempty"`

	console uintptr // Windows: the terminal's pseudo console, for startProc (terminal.go)
}

// ParseOptions decodes and validates a JSON request of the C ABI.
func ParseOptions(req []byte) (*Options, error) {
	var o Options
	dec := json.NewDecoder(strings.NewReader(string(req)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return nil, usage("invalid spawn request: %v", err)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &o, nil
}

func (o *Options) validate() error {
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		return usage("argv must name a program")
	}
	for i, a := range o.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return usage("argv[%d] contains a NUL byte", i)
		}
	}
	if strings.IndexByte(o.Cwd, 0) >= 0 {
		return usage("cwd contains a NUL byte")
	}
	if o.Env != nil {
		for _, kv := range *o.Env {
			if strings.IndexByte(kv, 0) >= 0 {
				return usage("env entry %q contains a NUL byte", strings.SplitN(kv, "=", 2)[0])
			}
			if !strings.Contains(kv, "=") {
				return usage("env entry %q is not KEY=VALUE", kv)
			}
		}
	}
	for _, s := range []struct{ name, v string }{{"stdin", o.Stdin}, {"stdout", o.Stdout}, {"stderr", o.Stderr}} {
		if n, ok := stdioFd(s.v); ok {
			if n < 0 {
				return usage("%s: %q is not fd:N with N a file descriptor", s.name, s.v)
			}
			if runtime.GOOS == "windows" {
				return usage("%s: a file descriptor (%s) is not supported on Windows", s.name, s.v)
			}
			continue
		}
		switch s.v {
		case "", StdioIgnore, StdioPipe, StdioInherit:
		case StdioSocket:
			if runtime.GOOS == "windows" {
				return usage("%s: %q is not supported on Windows", s.name, s.v)
			}
		case StdioStdout:
			if s.name != "stderr" {
				return usage("%s: %q is only valid for stderr", s.name, s.v)
			}
			if o.Stdout != StdioPipe && o.Stdout != StdioSocket {
				return usage("stderr: \"stdout\" needs stdout to be \"pipe\"")
			}
		default:
			return usage("%s: unknown stdio mode %q", s.name, s.v)
		}
	}
	if err := o.Terminal.validate(o); err != nil {
		return err
	}
	if o.KillSignal < 0 || o.KillSignal > MaxSignal {
		return usage("killSignal %d out of range", o.KillSignal)
	}
	for _, d := range []struct {
		name string
		v    *int64
	}{{"graceMs", o.GraceMs}, {"timeoutMs", o.TimeoutMs}, {"drainIdleMs", o.DrainIdleMs}, {"drainMaxMs", o.DrainMaxMs}} {
		if d.v != nil && (*d.v < 0 || *d.v > MaxMs) {
			return usage("%s %d out of range", d.name, *d.v)
		}
	}
	return nil
}

func msOr(v *int64, def time.Duration) time.Duration {
	if v == nil {
		return def
	}
	return time.Duration(*v) * time.Millisecond
}

func (o *Options) grace() time.Duration     { return msOr(o.GraceMs, DefaultGrace) }
func (o *Options) drainIdle() time.Duration { return msOr(o.DrainIdleMs, DefaultDrainIdle) }
func (o *Options) drainMax() time.Duration  { return msOr(o.DrainMaxMs, DefaultDrainMax) }
func (o *Options) killSignal() int {
	if o.KillSignal == 0 {
		return sigTERM
	}
	return o.KillSignal
}

// afterStart is what a started child keeps of its options: not its argv, cwd and
// environment, which only the spawn reads. The host sends its whole environment with
// every spawn (the facade's default, as child_process does), and keeping it for the
// child's life cost an idle child a copy of it on the Go heap (a desktop session's
// environment is several KB).
func (o *Options) afterStart() *Options {
	kept := *o
	kept.Argv, kept.Cwd, kept.Env = nil, "", nil
	return &kept
}
