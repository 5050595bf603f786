package core

// The host's receive loop under fuzzing (issue 10): a hello, then one message from
// the helper, with its framing (an SCM_RIGHTS fd, truncation). It may not panic,
// hang or leak an fd. The messages themselves and the helper's receive loop are
// fuzzed in go/internal/wire and go/internal/helperserver.
//
//	go test -run='^$' -fuzz=FuzzHelperClientRead -fuzztime=60s ./go/core

import (
	"encoding/json"
	"github.com/pawwork/pawwork-supervisor/go/internal/fdcheck"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// FuzzHelperClientRead runs the host's receive loop: a hello, then one fuzzed message
// (with a /dev/null fd when withFd), then EOF. It must end, close every fd it got, and
// deliver at most one reply and one exit to a pending spawn.
func FuzzHelperClientRead(f *testing.F) {
	for _, b := range wire.Examples() {
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, withFd bool) {
		if len(b) > 64<<10 {
			return
		}
		before := fdcheck.Count()
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ours, helperEnd := sp[0], sp[1]
		const pid = 999
		c := &helperConn{fd: ours, pid: pid, path: "fuzz", proc: &proc{pid: -1}, started: time.Now(), hello: make(chan struct{}),
			ended: make(chan struct{}), waiting: map[int64]chan helperReply{}, exits: map[int64]chan wire.Msg{}}
		reply, exit := make(chan helperReply, 1), make(chan wire.Msg, 1)
		c.waiting[1], c.exits[1] = reply, exit
		hello, _ := json.Marshal(wire.Msg{Op: "hello", Pid: pid})
		unix.Sendmsg(helperEnd, hello, nil, nil, 0)
		var oob []byte
		var fds []int
		if withFd {
			fds = fdcheck.NullFds(t, 1)
			oob = unix.UnixRights(fds...)
		}
		if err := unix.Sendmsg(helperEnd, b, oob, nil, 0); err != nil {
			t.Skip(err)
		}
		wire.CloseAll(fds)
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
		if after := fdcheck.Count(); after != before {
			t.Fatalf("fd leak: %d fds before, %d after %q:\n%s", before, after, b, fdcheck.Describe())
		}
	})
}
