package core

// Fuzz targets for everything read from the helper socket (issue 10): the messages of
// both sides, the spawn request handed over in a memfd, and the two receive loops
// with their framing (SCM_RIGHTS fds, truncation). None may panic, hang or leak an fd.
//
//	go test -run='^$' -fuzz=FuzzHelperMsg -fuzztime=60s ./go/core
//	go test -run='^$' -fuzz=FuzzHelperRequestFile -fuzztime=60s ./go/core
//	go test -run='^$' -fuzz=FuzzHelperServe -fuzztime=60s ./go/core
//	go test -run='^$' -fuzz=FuzzHelperClientRead -fuzztime=60s ./go/core

import (
	"bytes"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// realHelperMsgs are messages as the host and the helper send them.
func realHelperMsgs() [][]byte {
	env := append(os.Environ(), MarkerVar+"=1234.1")
	msgs := []helperMsg{
		{Op: "spawn", ID: 1, Path: "/bin/sh", Argv: []string{"sh", "-c", "echo hi; sleep 1 &"}, Env: env, Dir: "/tmp"},
		{Op: "spawn", ID: 7, Request: 300123},
		{Op: "reap", ID: 1},
		{Op: "release", ID: 1, Pids: []int{4242, 4243}},
		{Op: "hello", Pid: 999, Cgroup: "/sys/fs/cgroup/unified/pawwork-supervisor-999-7381-4026531836"},
		{Op: "hello", Pid: 999, Reason: "no writable cgroup v2 directory at /sys/fs/cgroup: permission denied"},
		{Op: "spawned", ID: 1, Pid: 4241, Cgroup: "/sys/fs/cgroup/unified/pawwork-supervisor-999-7381-4026531836/t1"},
		{Op: "spawned", ID: 2, Errno: int(syscall.ENOENT)},
		{Op: "exit", ID: 1, Code: 3},
		{Op: "exit", ID: 1, Signal: 9},
	}
	var out [][]byte
	for _, m := range msgs {
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	return append(out, []byte(`{"op":"spawn","id":1,"request":-1}`), []byte(`{"op":"exit","id":1e30}`), []byte(`[]`), []byte(`{"op":`))
}

func FuzzHelperMsg(f *testing.F) {
	for _, b := range realHelperMsgs() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeHelperMsg(b)
		if err == nil {
			// What decodes re-encodes to a message that decodes the same.
			again, _ := json.Marshal(m)
			m2, err := decodeHelperMsg(again)
			if err != nil {
				t.Fatalf("%q decoded, but its re-encoding %q did not: %v", b, again, err)
			}
			if b2, _ := json.Marshal(m2); !bytes.Equal(b2, again) {
				t.Fatalf("round trip changed %q into %q", again, b2)
			}
		}
		if r, err := decodeSpawnRequest(b, 5); err == nil && (r.ID != 5 || r.Path == "" || len(r.Argv) == 0 || r.Request != 0) {
			t.Fatalf("request %q accepted as %+v", b, r)
		}
	})
}

func FuzzHelperRequestFile(f *testing.F) {
	for _, b := range realHelperMsgs() {
		f.Add(b, int64(len(b)))
	}
	f.Add([]byte{}, int64(0))
	f.Add([]byte("{}"), int64(maxRequest+1))
	f.Fuzz(func(t *testing.T, b []byte, n int64) {
		fd, err := unix.MemfdCreate("fuzz-request", unix.MFD_CLOEXEC)
		if err != nil {
			t.Skip(err)
		}
		defer unix.Close(fd)
		if _, err := unix.Write(fd, b); err != nil && len(b) > 0 {
			t.Fatal(err)
		}
		got, errno := readRequestFile(fd, n)
		if errno == 0 && !bytes.Equal(got, b) {
			t.Fatalf("read %d bytes of a %d-byte file declared %d", len(got), len(b), n)
		}
		if errno == 0 {
			decodeSpawnRequest(got, 1)
		}
	})
}

// fuzzNullFds opens n fds on /dev/null.
func fuzzNullFds(t *testing.T, n int) []int {
	var fds []int
	for i := 0; i < n; i++ {
		fd, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	return fds
}

// drainReplies reads every message on fd until EOF, closes the fds that came with
// them, and checks that each is a valid message.
func drainReplies(t *testing.T, fd int) []helperMsg {
	var out []helperMsg
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(8*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return out
		}
		closeAll(parseRights(oob[:oobn]))
		m, err := decodeHelperMsg(buf[:n])
		if err != nil {
			t.Fatalf("the helper sent an invalid message %q: %v", buf[:n], err)
		}
		out = append(out, m)
	}
}

// FuzzHelperServe runs the helper's receive loop on one message with nfds fds (and,
// when req is not empty, a memfd holding req as the last fd). Nothing is executed:
// the fork is stubbed to fail with ENOENT, which must then be what a spawn answers.
func FuzzHelperServe(f *testing.F) {
	for _, b := range realHelperMsgs() {
		f.Add(b, uint8(3), []byte(nil))
	}
	req, _ := json.Marshal(helperMsg{Op: "spawn", Path: "/bin/echo", Argv: []string{"echo", "hi"}, Env: []string{"A=1"}})
	head, _ := json.Marshal(helperMsg{Op: "spawn", ID: 3, Request: int64(len(req))})
	f.Add(head, uint8(3), req)
	f.Add(head, uint8(3), req[:len(req)-1])
	f.Add(head, uint8(2), req)
	f.Fuzz(func(t *testing.T, b []byte, nfds uint8, req []byte) {
		if len(b) > maxHelperMsg {
			return // the host never sends more (and the socket could not carry it)
		}
		before := countFds()
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		host, ours := sp[0], sp[1]
		h := newHelper(ours)
		forks := 0
		h.forkExec = func(string, []string, *syscall.ProcAttr) (int, error) { forks++; return 0, syscall.ENOENT }
		fds := fuzzNullFds(t, int(nfds%7))
		if len(req) > 0 {
			mfd, err := unix.MemfdCreate("fuzz-request", unix.MFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			unix.Write(mfd, req)
			fds = append(fds, mfd)
		}
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		if err := unix.Sendmsg(host, b, oob, nil, 0); err != nil {
			t.Skip(err) // e.g. EMSGSIZE: not a message the helper can ever receive
		}
		closeAll(fds)
		unix.Shutdown(host, unix.SHUT_WR)
		done := make(chan struct{})
		go func() { h.serve(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("serve did not return at EOF after %q", b)
		}
		unix.Close(ours) // what it sent stays readable, then EOF
		replies := drainReplies(t, host)
		unix.Close(host)
		for _, r := range replies {
			spawned := r.Op == "spawned" && (r.Errno == int(syscall.ENOENT) || r.Errno == int(syscall.EINVAL) || r.Errno == int(syscall.E2BIG))
			reaped := r.Op == "reaped" && r.ID > 0 // the answer to a valid reap
			if !spawned && !reaped {
				t.Fatalf("reply %+v to %q", r, b)
			}
		}
		if len(replies) > 1 || forks > 1 {
			t.Fatalf("%d replies, %d forks for one message %q", len(replies), forks, b)
		}
		if after := countFds(); after != before {
			t.Fatalf("fd leak: %d fds before, %d after %q with %d fds:\n%s", before, after, b, nfds%7, describeFds())
		}
	})
}

// FuzzHelperClientRead runs the host's receive loop: a hello, then one fuzzed message
// (with a /dev/null fd when withFd), then EOF. It must end, close every fd it got, and
// deliver at most one reply and one exit to a pending spawn.
func FuzzHelperClientRead(f *testing.F) {
	for _, b := range realHelperMsgs() {
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, withFd bool) {
		if len(b) > 64<<10 {
			return
		}
		before := countFds()
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ours, helperEnd := sp[0], sp[1]
		const pid = 999
		c := &helperConn{fd: ours, pid: pid, path: "fuzz", proc: &proc{pid: -1}, started: time.Now(), hello: make(chan struct{}),
			ended: make(chan struct{}), waiting: map[int64]chan helperReply{}, exits: map[int64]chan helperMsg{}}
		reply, exit := make(chan helperReply, 1), make(chan helperMsg, 1)
		c.waiting[1], c.exits[1] = reply, exit
		hello, _ := json.Marshal(helperMsg{Op: "hello", Pid: pid})
		unix.Sendmsg(helperEnd, hello, nil, nil, 0)
		var oob []byte
		var fds []int
		if withFd {
			fds = fuzzNullFds(t, 1)
			oob = unix.UnixRights(fds...)
		}
		if err := unix.Sendmsg(helperEnd, b, oob, nil, 0); err != nil {
			t.Skip(err)
		}
		closeAll(fds)
		unix.Close(helperEnd)
		done := make(chan struct{})
		go func() { c.read(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("read did not end at EOF after %q", b)
		}
		if !c.said || !c.dead {
			t.Fatalf("said %v dead %v after a hello and EOF", c.said, c.dead)
		}
		if r, ok := <-reply; ok {
			if r.pidfd >= 0 {
				unix.Close(r.pidfd)
			}
			if r.msg.Op != "spawned" || r.msg.ID != 1 {
				t.Fatalf("reply %+v delivered for %q", r.msg, b)
			}
		}
		if m, ok := <-exit; ok && (m.Op != "exit" || m.ID != 1) {
			t.Fatalf("exit %+v delivered for %q", m, b)
		}
		if after := countFds(); after != before {
			t.Fatalf("fd leak: %d fds before, %d after %q:\n%s", before, after, b, describeFds())
		}
	})
}
