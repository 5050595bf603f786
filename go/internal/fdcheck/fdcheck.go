//go:build unix

// Package fdcheck is what the Go tests of the core and of the helper's server use to
// catch a leaked file descriptor: count this process's fds, describe them, and open
// placeholders. Test support only: nothing the library or the helper links.
package fdcheck

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Count is the number of fds this process holds now.
func Count() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		panic(err)
	}
	return len(ents)
}

// Describe lists this process's fds and what each points at, one per line.
func Describe() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fmt.Fprintf(&b, "  %s -> %s\n", e.Name(), target)
	}
	return b.String()
}

// NullFds opens n close-on-exec fds on /dev/null.
func NullFds(t testing.TB, n int) []int {
	var fds []int
	for i := 0; i < n; i++ {
		fd, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	return fds
}
