package wire

import (
	"encoding/json"
	"os"
	"syscall"
)

// Examples are messages as the host and the helper send them, and a few broken
// ones: the seed corpus of the fuzz targets of both sides (wire, helperserver,
// and go/core's receive loop).
func Examples() [][]byte {
	env := append(os.Environ(), "PAWWORK_SUPERVISOR_TREE=1234.1")
	msgs := []Msg{
		{Op: "spawn", ID: 1, Path: "/bin/sh", Argv: []string{"sh", "-c", "echo hi; sleep 1 &"}, Env: env, Dir: "/tmp"},
		{Op: "spawn", ID: 7, Request: 300123},
		{Op: "spawn", ID: 3, Path: "/bin/true", Argv: []string{"true"}, AutoReap: true},
		{Op: "reap", ID: 1},
		{Op: "letgo", ID: 1, Pids: []int{4242, 4243}},
		{Op: "hello", Pid: 999, Cgroup: "/sys/fs/cgroup/unified/pawwork-supervisor-999-7381-4026531836"},
		{Op: "hello", Pid: 999, Reason: "no writable cgroup v2 directory at /sys/fs/cgroup: permission denied"},
		{Op: "spawned", ID: 1, Pid: 4241, Cgroup: "/sys/fs/cgroup/unified/pawwork-supervisor-999-7381-4026531836/t1"},
		{Op: "spawned", ID: 2, Errno: int(syscall.ENOENT)},
		{Op: "exit", ID: 1, Code: 3},
		{Op: "exit", ID: 1, Signal: 9},
		{Op: "spawned", ID: 3, Pid: 4242, Cgroup: "/sys/fs/cgroup/unified/pawwork-supervisor-999-7381-4026531836/t3", Ticks: 123456, AutoReap: true},
		{Op: "exit", ID: 3, Code: 0, Reaped: true},
		{Op: "watch", ID: 3, Pid: 4250, Start: 1764280000123456}, // macOS
	}
	var out [][]byte
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	return append(out, []byte(`{"op":"spawn","id":1,"request":-1}`), []byte(`{"op":"exit","id":1e30}`), []byte(`[]`), []byte(`{"op":`))
}
