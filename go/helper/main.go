//go:build linux || darwin

// Command pawwork-supervisor-helper is the per-host helper of pawwork-supervisor.
// On Linux: a child subreaper that spawns on the library's behalf and kills every
// tree it holds when the host dies. On macOS: it kills every tree the host
// registered with it when the host dies (go/internal/helperserver/server_darwin.go
// says why it does not spawn there). The library starts it (see
// go/core/helperclient_*.go); it is not meant to be run by hand. The server is
// go/internal/helperserver.
package main

import (
	"os"

	"github.com/pawwork/pawwork-supervisor/go/core"
	"github.com/pawwork/pawwork-supervisor/go/internal/helperserver"
	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != wire.Arg {
		os.Stderr.WriteString("pawwork-supervisor-helper is started by the pawwork-supervisor library, not by hand\n")
		os.Exit(2)
	}
	core.ReserveHelperThreads() // every thread it will need, first (go/core/threads.go)
	os.Exit(helperserver.Main())
}
