package core

import (
	"strconv"
	"strings"
)

// StdioFdPrefix starts a stdio mode that gives the leader a duplicate of one of the
// host's open file descriptors ("fd:7"), as child_process does for a number or a
// stream that has one: the caller keeps its own fd; the leader gets a copy.
const StdioFdPrefix = "fd:"

// stdioFd is the host fd a mode names, if it is an "fd:N" mode; ok false otherwise.
// A malformed "fd:" mode gives ok true and n -1 (refused by validate).
func stdioFd(mode string) (n int, ok bool) {
	if !strings.HasPrefix(mode, StdioFdPrefix) {
		return 0, false
	}
	v, err := strconv.Atoi(mode[len(StdioFdPrefix):])
	if err != nil || v < 0 || strconv.Itoa(v) != mode[len(StdioFdPrefix):] {
		return -1, true
	}
	return v, true
}
