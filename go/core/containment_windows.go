package core

import "github.com/pawwork/pawwork-supervisor/go/internal/wire"

// Containment reports how the next spawn's tree will be contained: a Job Object
// per tree.
//
// The reason names the library's build (wire.BuildID, stamped by the Makefile).
// That also keeps the id in the DLL's bytes, where lib/addon.ts looks for it
// before loading the library (libraryBuildId): on Linux the helper's hello
// refers to it, but nothing else of the Windows core does, and without a
// reference the linker drops it.
func Containment() ContainmentInfo {
	return ContainmentInfo{Mode: "job", Reason: "Windows: each tree is held by a Job Object (see proc_windows.go); library " + wire.BuildID,
		Guarantees: []string{"job-object"}}
}
