package core

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The wire format between the library (the host) and its helper executable: one JSON
// object per SOCK_SEQPACKET message, file descriptors beside it as SCM_RIGHTS.
//
//	host → helper  spawn   {id, path, argv, env, dir}  + fds: the child's stdin, stdout, stderr
//	host → helper  spawn   {id, request: n}            + fds: stdin, stdout, stderr, and a
//	                                                     sealed memfd holding the n-byte spawn
//	                                                     request (argv+env too large for one
//	                                                     message, ~208 KB)
//	host → helper  reap    {id}                         the host is done with the exited leader
//	host → helper  release {id, pids}                   leftovers the host let go: never killed
//	helper → host  hello   {pid, cgroup | reason}       once, first
//	helper → host  spawned {id, pid, cgroup} + a pidfd  or {id, errno} when the exec failed
//	helper → host  exit    {id, code, signal}           the leader exited (still unreaped)
//	helper → host  reaped  {id}                         answer to reap: the leader and every
//	                                                     zombie the helper held then are reaped
//
// When the host's end closes (the host exited or died, however), the helper kills
// every process it holds that was not released, and exits.
type helperMsg struct {
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
}

// HelperArg is the argument the helper executable is started with; a program that
// embeds the helper (the Go tests do) checks for it in os.Args[1].
const HelperArg = "--pawwork-supervisor-helper"

// maxHelperMsg bounds one message as received (a larger one is truncated, hence
// refused). Requests over maxInlineRequest travel in a memfd instead.
const maxHelperMsg = 256 << 10

// maxInlineRequest is the largest spawn request sent inline: well below what one
// SEQPACKET message can carry with the default socket buffers (~208 KB).
const maxInlineRequest = 64 << 10

// maxRequest bounds a spawn request handed over in a memfd. Far above ARG_MAX with
// any sane stack limit (a quarter of RLIMIT_STACK: 2 MiB by default): a larger one
// is refused with E2BIG, as execve would refuse it.
const maxRequest = 64 << 20

// maxRequestFds is how many fds a host→helper message may carry (spawn: three stdio
// fds and the request's memfd); the receive buffer has room for one more, so that a
// message with too many is seen as such instead of truncated silently.
const maxRequestFds = 4

var errBadMsg = errors.New("malformed helper message")

// decodeHelperMsg parses one message from either side and checks what every
// message must satisfy: a known op, and field values in range.
func decodeHelperMsg(b []byte) (helperMsg, error) {
	var m helperMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return helperMsg{}, fmt.Errorf("%w: %v", errBadMsg, err)
	}
	// On a failed check the message is returned too: a bad spawn with an id is
	// still answered (with EINVAL), so that the host does not wait for it.
	return m, m.check()
}

func (m *helperMsg) check() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s %s", errBadMsg, m.Op, why) }
	if m.ID < 0 || m.Pid < 0 || m.Errno < 0 || m.Signal < 0 || m.Request < 0 {
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
			if m.Request > maxRequest {
				return bad("request too large")
			}
			return nil
		}
		if m.Path == "" || len(m.Argv) == 0 {
			return bad("without path or argv")
		}
	case "reap", "release":
		if m.ID == 0 {
			return bad("without an id")
		}
		for _, pid := range m.Pids {
			if pid <= 0 {
				return bad("with a pid ≤ 0")
			}
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
		return fmt.Errorf("%w: unknown op %q", errBadMsg, m.Op)
	}
	return nil
}

// decodeSpawnRequest parses the spawn request read from a memfd: an inline spawn
// message (no id, no nested request) of which path, argv, env and dir are used.
func decodeSpawnRequest(b []byte, id int64) (helperMsg, error) {
	var m helperMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return helperMsg{}, fmt.Errorf("%w: request: %v", errBadMsg, err)
	}
	if m.Op != "spawn" || m.Request != 0 {
		return helperMsg{}, fmt.Errorf("%w: request is not an inline spawn", errBadMsg)
	}
	m.ID = id
	if err := m.check(); err != nil {
		return helperMsg{}, err
	}
	return m, nil
}
