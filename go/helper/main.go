//go:build linux

// Command pawwork-supervisor-helper is the per-host helper of pawwork-supervisor:
// a child subreaper that spawns on the library's behalf and kills every tree it
// holds when the host dies. The library starts it (see go/core/helper_linux.go);
// it is not meant to be run by hand.
package main

import (
	"os"

	"github.com/pawwork/pawwork-supervisor/go/core"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != core.HelperArg {
		os.Stderr.WriteString("pawwork-supervisor-helper is started by the pawwork-supervisor library, not by hand\n")
		os.Exit(2)
	}
	core.ReserveHelperThreads() // every thread it will need, first (go/core/threads.go)
	os.Exit(core.HelperMain())
}
