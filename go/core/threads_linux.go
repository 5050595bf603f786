package core

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var slots = make(chan struct{}, blockingSlots)

// blocking takes one of the blockingSlots for a stretch of slow blocking syscalls
// (a /proc scan, a fork+exec) and returns its release. Use: defer blocking()().
// Never call it while holding a slot.
func blocking() (release func()) {
	slots <- struct{}{}
	return func() { <-slots }
}

// waitPoll waits for pid to exit without reaping it (WNOWAIT), by polling: a
// blocking waitid would hold an OS thread per waiting child. Only for kernels
// without pollable pidfds (before 5.3), where the netpoller cannot do it.
func waitPoll(pid int, info *unix.Siginfo) error {
	pause := time.Millisecond
	for {
		*info = unix.Siginfo{}
		err := unix.Waitid(unix.P_PID, pid, info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || (*sigchld)(unsafe.Pointer(info)).pid != 0 {
			return err
		}
		time.Sleep(pause)
		if pause < 50*time.Millisecond {
			pause *= 2
		}
	}
}

// probeThreads checks, when the host gave a way to (ProbeThreads), that n more
// threads can be had now.
func probeThreads(n int) error {
	if ProbeThreads == nil {
		return nil
	}
	return ProbeThreads(n)
}
