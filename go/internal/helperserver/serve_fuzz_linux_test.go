package helperserver

// The helper's receive loop under fuzzing (issue 10): one message from the host,
// with its framing (SCM_RIGHTS fds, a memfd request, truncation). It may not
// panic, hang or leak an fd.
//
//	go test -run='^$' -fuzz=FuzzHelperServe -fuzztime=60s ./go/internal/helperserver

import (
	"encoding/json"
	"github.com/pawwork/pawwork-supervisor/go/internal/fdcheck"
	"syscall"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// drainReplies reads every message on fd until EOF, closes the fds that came with
// them, and checks that each is a valid message.
func drainReplies(t *testing.T, fd int) []wire.Msg {
	var out []wire.Msg
	buf := make([]byte, 64<<10)
	oob := make([]byte, wire.OOBSpace(8))
	for {
		n, fds, _, err := wire.Recv(fd, buf, oob)
		if err != nil || n == 0 {
			return out
		}
		wire.CloseAll(fds)
		m, err := wire.Decode(buf[:n])
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
	for _, b := range wire.Examples() {
		f.Add(b, uint8(3), []byte(nil))
	}
	req, _ := json.Marshal(wire.Msg{Op: "spawn", Path: "/bin/echo", Argv: []string{"echo", "hi"}, Env: []string{"A=1"}})
	head, _ := json.Marshal(wire.Msg{Op: "spawn", ID: 3, Request: int64(len(req))})
	f.Add(head, uint8(3), req)
	f.Add(head, uint8(3), req[:len(req)-1])
	f.Add(head, uint8(2), req)
	f.Fuzz(func(t *testing.T, b []byte, nfds uint8, req []byte) {
		if len(b) > wire.MaxMsg {
			return // the host never sends more (and the socket could not carry it)
		}
		before := fdcheck.Count()
		sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		host, ours := sp[0], sp[1]
		s := newServer(ours)
		forks := 0
		s.forkExec = func(string, []string, *syscall.ProcAttr) (int, error) { forks++; return 0, syscall.ENOENT }
		fds := fdcheck.NullFds(t, int(nfds%7))
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
		wire.CloseAll(fds)
		unix.Shutdown(host, unix.SHUT_WR)
		done := make(chan struct{})
		go func() { s.serve(); close(done) }()
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
		if after := fdcheck.Count(); after != before {
			t.Fatalf("fd leak: %d fds before, %d after %q with %d fds:\n%s", before, after, b, nfds%7, fdcheck.Describe())
		}
	})
}
