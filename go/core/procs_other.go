//go:build !linux

package core

// manageProcs: GOMAXPROCS stays as ReserveThreads set it here; the one-P policy
// (procs_linux.go) is measured on Linux only.
func manageProcs(int) {}

func busyBegin() {}
func busyEnd()   {}
