//go:build unix

package core

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func errnoName(e syscall.Errno) string { return unix.ErrnoName(e) }

func signalName(sig int) string { return unix.SignalName(syscall.Signal(sig)) }
