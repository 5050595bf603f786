// Package wire is the one definition of what the library (the host, go/core) and
// its helper executable (go/internal/helperserver) say to each other on Linux:
// the messages, their checks, and their framing on the socket. Both sides use it,
// so the format is written once.
//
// One JSON object per SOCK_SEQPACKET message, file descriptors beside it as
// SCM_RIGHTS.
//
//	host → helper  spawn   {id, path, argv, env, dir[, tty][, autoReap]}
//	                                                   + fds: the leader's stdin, stdout, stderr
//	                                                     (tty: the three are a pseudo-terminal's slave,
//	                                                     made the session's controlling terminal;
//	                                                     autoReap: the host signals the leader's group
//	                                                     only through a pidfd, so the helper may reap
//	                                                     the leader at its exit, see exit)
//	host → helper  spawn   {id, request: n}            + fds: stdin, stdout, stderr, and a
//	                                                     sealed memfd holding the n-byte spawn
//	                                                     request (argv+env too large for one
//	                                                     message, ~208 KB)
//	host → helper  reap    {id}                         the host is done with the exited leader
//	host → helper  letgo   {id, pids}                   leftovers the host let go: never killed
//	helper → host  hello   {pid, cgroup | reason, build} once, first (build: BuildID)
//	helper → host  spawned {id, pid, cgroup, ticks[, autoReap]}
//	                                                     or {id, errno} when the exec failed (no pidfd:
//	                                                     the host keeps none of a leader of the helper;
//	                                                     a pidfd beside it is closed). ticks: the
//	                                                     leader's start time (clock ticks since boot);
//	                                                     autoReap: granted (asked, with a cgroup and ticks)
//	helper → host  exit    {id, code, signal[, reaped]} the leader exited: still unreaped, or with
//	                                                     reaped (autoReap granted, the tree's cgroup
//	                                                     empty) reaped with every zombie the helper
//	                                                     held, as after a reap: no reap follows
//	helper → host  reaped  {id}                         answer to reap: the leader and every
//	                                                     zombie the helper held then are reaped
//
// When the host's end closes (the host exited or died, however), the helper kills
// every tree it holds, except the leftovers let go, and exits.
//
// On macOS (no SOCK_SEQPACKET, no subreaper, no memfd) the host spawns its leaders
// itself and only registers them: one JSON object per line on a SOCK_STREAM socket
// (stream.go), no fds; hello, reap and letgo as above, and
//
//	host → helper  watch   {id, pid, start}             a leader the host started (its own child,
//	                                                     unreaped): its session and group, and what
//	                                                     they start, are killed at the host's death
//	                                                     (start: the leader's start time, µs)
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Msg is one message, of either side (see the package comment for which fields
// each op uses).
type Msg struct {
	Op      string   `json:"op"`
	ID      int64    `json:"id,omitempty"`
	Path    string   `json:"path,omitempty"`
	Argv    []string `json:"argv,omitempty"`
	Env     []string `json:"env,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	Request int64    `json:"request,omitempty"` // spawn: the request is in the fourth fd, this long
	Pid     int      `json:"pid,omitempty"`
	Errno   int      `json:"errno,omitempty"`
	Code    int      `json:"code,omitempty"`
	Signal  int      `json:"signal,omitempty"`
	Pids    []int    `json:"pids,omitempty"`
	Cgroup  string   `json:"cgroup,omitempty"` // hello: the helper's cgroup subtree; spawned: the tree's cgroup
	Reason  string   `json:"reason,omitempty"` // hello: why there is no cgroup subtree
	Tty     bool     `json:"tty,omitempty"`    // spawn: the stdio fds are one terminal's slave: the leader makes it its controlling terminal
	Build   string   `json:"build,omitempty"`  // hello: the helper's BuildID
	Start   int64    `json:"start,omitempty"`  // watch (macOS): the leader's start time, µs since the epoch
	Ticks   uint64   `json:"ticks,omitempty"`  // spawned: the leader's start time, clock ticks since boot (its /proc stat)
	// spawn: the host asks that the leader be reaped at its exit when its tree is
	// empty; spawned: granted.
	AutoReap bool `json:"autoReap,omitempty"`
	Reaped   bool `json:"reaped,omitempty"` // exit: the helper reaped the leader and its tree (autoReap)
}

// BuildID names the build the library and the helper come from, stamped by the
// Makefile (-ldflags -X …/wire.BuildID=pws-build-id:<hash of the Go sources>; the
// same text goes into dist/build-id.json, and lib/addon.ts finds it in the library's
// bytes before loading it). The host drops a helper whose hello names another build.
// Empty in builds without the stamp (go test), where both sides are one binary.
var BuildID = ""

// Arg is the argument the helper executable is started with; a program that
// embeds the helper (the Go tests do) checks for it in os.Args[1].
const Arg = "--pawwork-supervisor-helper"

// DebugVar, set in the host's environment, keeps the helper's stderr (the host's)
// instead of /dev/null, for its diagnostics.
const DebugVar = "PAWWORK_SUPERVISOR_HELPER_DEBUG"

// Fd is the helper's end of the socket, in the helper.
const Fd = 3

// MaxMsg bounds one message as received (a larger one is truncated, hence
// refused). Requests over MaxInlineRequest travel in a memfd instead.
const MaxMsg = 256 << 10

// MaxInlineRequest is the largest spawn request sent inline: well below what one
// SEQPACKET message can carry with the default socket buffers (~208 KB).
const MaxInlineRequest = 64 << 10

// MaxRequest bounds a spawn request handed over in a memfd. Far above ARG_MAX with
// any sane stack limit (a quarter of RLIMIT_STACK: 2 MiB by default): a larger one
// is refused with E2BIG, as execve would refuse it.
const MaxRequest = 64 << 20

// MaxRequestFds is how many fds a host→helper message may carry (spawn: three stdio
// fds and the request's memfd); the receive buffer has room for one more, so that a
// message with too many is seen as such instead of truncated silently.
const MaxRequestFds = 4

// ErrBadMsg is the error of every message that fails its checks.
var ErrBadMsg = errors.New("malformed helper message")

// Decode parses one message from either side and checks what every message must
// satisfy: a known op, and field values in range.
func Decode(b []byte) (Msg, error) {
	var m Msg
	if err := json.Unmarshal(b, &m); err != nil {
		return Msg{}, fmt.Errorf("%w: %v", ErrBadMsg, err)
	}
	// On a failed check the message is returned too: a bad spawn with an id is
	// still answered (with EINVAL), so that the host does not wait for it.
	return m, m.check()
}

func (m *Msg) check() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s %s", ErrBadMsg, m.Op, why) }
	if m.ID < 0 || m.Pid < 0 || m.Errno < 0 || m.Signal < 0 || m.Request < 0 || m.Start < 0 {
		return bad("with a negative field")
	}
	switch m.Op {
	case "spawn":
		if m.ID == 0 {
			return bad("without an id")
		}
		if m.Request > 0 {
			if m.Path != "" || m.Argv != nil || m.Env != nil || m.Dir != "" {
				return bad("with both an inline and a memfd request")
			}
			if m.Request > MaxRequest {
				return bad("request too large")
			}
			return nil
		}
		if m.Path == "" || len(m.Argv) == 0 {
			return bad("without path or argv")
		}
	case "reap", "letgo":
		if m.ID == 0 {
			return bad("without an id")
		}
		for _, pid := range m.Pids {
			if pid <= 0 {
				return bad("with a pid ≤ 0")
			}
		}
	case "watch":
		if m.ID == 0 || m.Pid <= 1 || m.Start == 0 {
			return bad("without an id, a pid > 1 or a start time")
		}
	case "hello":
		if m.Pid <= 0 {
			return bad("without a pid")
		}
	case "spawned":
		if m.ID == 0 || (m.Errno == 0 && m.Pid <= 0) {
			return bad("without an id, a pid or an errno")
		}
	case "exit", "reaped":
		if m.ID == 0 {
			return bad("without an id")
		}
	default:
		return fmt.Errorf("%w: unknown op %q", ErrBadMsg, m.Op)
	}
	return nil
}

// DecodeSpawnRequest parses the spawn request read from a memfd: an inline spawn
// message (no id, no nested request) of which path, argv, env and dir are used.
func DecodeSpawnRequest(b []byte, id int64) (Msg, error) {
	var m Msg
	if err := json.Unmarshal(b, &m); err != nil {
		return Msg{}, fmt.Errorf("%w: request: %v", ErrBadMsg, err)
	}
	if m.Op != "spawn" || m.Request != 0 {
		return Msg{}, fmt.Errorf("%w: request is not an inline spawn", ErrBadMsg)
	}
	m.ID = id
	if err := m.check(); err != nil {
		return Msg{}, err
	}
	return m, nil
}
