//go:build unix

package core

import "golang.org/x/sys/unix"

// setSize sets the terminal's window size (TIOCSWINSZ on the master).
func (t *terminal) setSize(fd uintptr, rows, cols int) error { return setSize(fd, rows, cols) }

func setSize(fd uintptr, rows, cols int) error {
	return unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
}

// foregroundGroup is tcgetpgrp on the master: the slave's foreground process group
// (0: none).
func foregroundGroup(fd uintptr) (int, error) {
	pgid, err := unix.IoctlGetInt(int(fd), unix.TIOCGPGRP)
	if err == unix.ENOTTY || err == unix.EIO {
		return 0, nil // no session holds the terminal any more
	}
	return pgid, err
}

// leaderExited: the master sees EOF (EIO) by itself once every slave fd is closed.
func (t *terminal) leaderExited() {}

func (t *terminal) closeConsole() {}
