//go:build !linux

package core

import "runtime"

// Configure is accepted everywhere; only Linux has a helper to configure.
func Configure(cfg Config) {}

// Containment reports how the next spawn's tree will be contained. Only Linux has
// the helper so far; elsewhere the platform's own means are all there is.
func Containment() ContainmentInfo {
	if runtime.GOOS == "windows" {
		return ContainmentInfo{Mode: "job", Reason: "Windows: each tree is held by a Job Object (see proc_windows.go)",
			Guarantees: []string{"job-object"}}
	}
	return ContainmentInfo{Mode: "fallback", Reason: runtime.GOOS + ": the helper is Linux-only so far",
		Guarantees: []string{"session", "pgroup", "ptable"}}
}
