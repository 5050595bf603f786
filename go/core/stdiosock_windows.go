//go:build windows

package core

import "os"

// newSocketPair: the "socket" stdio mode is Unix only (refused by Options.validate).
func newSocketPair(parentReads bool) (r, w *os.File, err error) {
	return nil, nil, usage("the \"socket\" stdio mode is not supported on Windows")
}
