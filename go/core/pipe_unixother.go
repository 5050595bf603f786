//go:build unix && !linux

package core

import "os"

// newPipe makes one stdio pipe: both ends close-on-exec and non-blocking on the
// parent's side (os.Pipe does both), so read deadlines work. parentReads says which
// end the parent keeps; it matters only on Windows.
func newPipe(parentReads bool) (r, w *os.File, err error) { return os.Pipe() }

func prepareSharedNull() {}

// nullForLeader: each spawn opens its own null device here.
func nullForLeader() *os.File { return nil }
