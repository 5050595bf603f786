//go:build !linux && !darwin

// No helper on Windows: each tree is a Job Object with kill-on-close there, which
// gives host-death cleanup by itself.
package main

import "os"

func main() {
	os.Stderr.WriteString("pawwork-supervisor-helper: not supported on this platform\n")
	os.Exit(2)
}
