// Package procfs is the small /proc reader both sides of pawwork-supervisor share
// on Linux: the library (go/core, which finds the members of a tree) and the
// helper executable (go/internal/helperserver, which reaps and kills what it
// holds). It reads a process's stat line, scans /proc, lists a process's
// children and checks its environment, and signals a process only while it is
// still the one a scan saw (same start time), so that a re-used pid is never hit.
package procfs
