//go:build unix

package core

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// hostFd duplicates the host's fd n (close-on-exec) for the leader; the duplicate is
// one of the leader's ends, closed in the parent once the leader holds it.
func (s *stdio) hostFd(n int, name string) (*os.File, error) {
	d, err := unix.FcntlInt(uintptr(n), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, &Error{Code: "EBADF", Syscall: "dup", Msg: name + ": fd " + strconv.Itoa(n) + ": " + err.Error(), Err: err}
	}
	f := os.NewFile(uintptr(d), name)
	s.leaderEnds = append(s.leaderEnds, f)
	return f, nil
}
