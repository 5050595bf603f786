//go:build unix

package core

import (
	"os"

	"golang.org/x/sys/unix"
)

// newSocketPair is newPipe's alternative for the "socket" stdio mode: a connected
// AF_UNIX stream pair, as Node's 'pipe' gives a child (libuv uses socketpair on Unix),
// for programs that tell the two apart (`test -S /dev/stdin`, getsockopt, shutdown(2)).
// Both ends close-on-exec; the parent's end non-blocking so that read deadlines work,
// the leader's blocking as a pipe's would be.
func newSocketPair(parentReads bool) (r, w *os.File, err error) {
	fds, err := socketpairCloexec()
	if err != nil {
		return nil, nil, err
	}
	// fds[0] is the parent's end: r when the parent reads, w otherwise.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	// Both directions stay open, as Node's are: the mode is for programs that tell a
	// socket from a pipe, and a drop-in must not differ in anything else.
	parent, leader := os.NewFile(uintptr(fds[0]), "socket"), os.NewFile(uintptr(fds[1]), "socket")
	if parentReads {
		return parent, leader, nil
	}
	return leader, parent, nil
}
