package core

// The wire format between the library (the host) and its helper executable: one JSON
// object per SOCK_SEQPACKET message, file descriptors beside it as SCM_RIGHTS.
//
//	host → helper  spawn   {id, path, argv, env, dir}  + fds: the child's stdin, stdout, stderr
//	host → helper  reap    {id}                         the host is done with the exited leader
//	host → helper  release {id, pids}                   leftovers the host let go: never killed
//	helper → host  hello   {pid, cgroup | reason}       once, first
//	helper → host  spawned {id, pid, cgroup} + a pidfd  or {id, errno} when the exec failed
//	helper → host  exit    {id, code, signal}           the leader exited (still unreaped)
//
// When the host's end closes (the host exited or died, however), the helper kills
// every process it holds that was not released, and exits.
type helperMsg struct {
	Op     string   `json:"op"`
	ID     int64    `json:"id,omitempty"`
	Path   string   `json:"path,omitempty"`
	Argv   []string `json:"argv,omitempty"`
	Env    []string `json:"env,omitempty"`
	Dir    string   `json:"dir,omitempty"`
	Pid    int      `json:"pid,omitempty"`
	Errno  int      `json:"errno,omitempty"`
	Code   int      `json:"code,omitempty"`
	Signal int      `json:"signal,omitempty"`
	Pids   []int    `json:"pids,omitempty"`
	Cgroup string   `json:"cgroup,omitempty"` // hello: the helper's cgroup subtree; spawned: the tree's cgroup
	Reason string   `json:"reason,omitempty"` // hello: why there is no cgroup subtree
}

// HelperArg is the argument the helper executable is started with; a program that
// embeds the helper (the Go tests do) checks for it in os.Args[1].
const HelperArg = "--pawwork-supervisor-helper"

// maxHelperMsg bounds one message (argv and env included).
const maxHelperMsg = 4 << 20
