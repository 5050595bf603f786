//go:build linux || windows

package core

// What the Linux and the Windows test binaries share about running themselves as
// their helper child (main_test.go, main_windows_test.go).

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// helperCommandUsed holds the names of the helper commands (helperCommands, one table
// per OS) some test asked for (helperArgv, helperName); a full run fails in TestMain
// if a command is in no test.
var helperCommandUsed sync.Map

// helperName marks the helper command name used and returns it. helperArgv calls
// it; call it directly where a command is named otherwise (the inner command of
// "fork", an argv built by hand) or before a t.Skip that precedes its only use.
// An unknown name panics: a typo fails the test that made it, loudly.
func helperName(name string) string {
	if _, ok := helperCommands[name]; !ok {
		panic(fmt.Sprintf("unknown helper command %q", name))
	}
	helperCommandUsed.Store(name, true)
	return name
}

// runHelper runs the helper command name (the test binary started as a fixture).
func runHelper(name string, args []string) int {
	f, ok := helperCommands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper command %q\n", name)
		return 2
	}
	return f(args...)
}

// failUnusedHelperCommands turns a passing full run's code into a failure when a
// helper command is in no test: as os/exec's tests do, such a command is dead code.
func failUnusedHelperCommands(code int) int {
	if code == 0 && fullRun() {
		if unused := unusedHelperCommands(helperCommands, &helperCommandUsed); len(unused) > 0 {
			fmt.Fprintf(os.Stderr, "helper commands no test uses: %s\n", strings.Join(unused, ", "))
			return 1
		}
	}
	return code
}

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
