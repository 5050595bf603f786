//go:build linux && !amd64

package core

import "golang.org/x/sys/unix"

// Architectures without the old select and poll system calls (arm64, …).
func isSelect(nr int) bool { return nr == unix.SYS_PSELECT6 }
func isPoll(nr int) bool   { return nr == unix.SYS_PPOLL }
