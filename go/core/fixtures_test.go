//go:build linux || windows

package core

// What the Linux and the Windows test binaries share about running themselves as
// their helper child (main_test.go, main_windows_test.go).

import (
	"flag"
	"sort"
	"sync"
)

// unusedHelperCommands are the commands in cmds that used does not hold, sorted.
func unusedHelperCommands(cmds map[string]func(...string) int, used *sync.Map) []string {
	var out []string
	for name := range cmds {
		if _, ok := used.Load(name); !ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// fullRun reports whether every test was asked for: no -test.run, -test.skip or
// -test.list (-short skips none that name a helper command).
func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}
