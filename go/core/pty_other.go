//go:build !linux && !windows && !darwin

package core

import (
	"os"
	"runtime"
	"syscall"
)

// inputProof: no way to prove a read of the terminal is implemented here.
const inputProof = "unsupported"

// openTerminal: terminal sessions are implemented on Linux, macOS and Windows. On
// any other system the spawn fails with ENOSYS rather than starting the leader
// without a terminal.
func openTerminal(rows, cols int) (*terminal, *os.File, error) {
	return nil, nil, &Error{Code: "ENOSYS", Syscall: "openpty", Errno: syscall.ENOSYS,
		Msg: "terminal sessions are not implemented on " + runtime.GOOS + " yet"}
}

func (t *terminal) readingTerminal(pid int) bool { return false }
func (c *Child) groupMembers(pgid int) []int     { return nil }
func (c *Child) signalGroup(pgid, sig int) []int { return []int{} }
