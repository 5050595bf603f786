package core

import "golang.org/x/sys/unix"

func isSelect(nr int) bool { return nr == unix.SYS_SELECT || nr == unix.SYS_PSELECT6 }
func isPoll(nr int) bool   { return nr == unix.SYS_POLL || nr == unix.SYS_PPOLL }
