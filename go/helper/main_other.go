//go:build !linux

// The helper is Linux-only for now: on macOS the library runs without it (weaker
// containment, reported by Containment()); Windows has Job Objects instead.
package main

import "os"

func main() {
	os.Stderr.WriteString("pawwork-supervisor-helper: not supported on this platform\n")
	os.Exit(2)
}
