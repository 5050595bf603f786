// Package core is the pawwork-supervisor supervisor core: it starts children with
// piped stdio, cancels whole trees with a graceful → forceful ladder, and drains every
// byte of output before an exit is final.
//
// It is pure Go (no cgo) so that it cross-compiles for every platform; the C ABI lives
// in go/capi. Portable logic is in child.go (the handle, its lifecycle, the ladder),
// output.go, stdin.go, hub.go, ptable.go (the tree walk) and options.go; what differs
// per OS is in small files named by suffix (_linux, _unix, _darwin, _windows).
//
// Nothing here installs signal handlers (no os/signal): the library lives inside Node,
// whose libuv owns SIGCHLD. The Linux helper executable, which does, is go/helper
// with its server in go/internal/helperserver, never linked here; the core shares
// with it only go/internal/wire (what the two say), procfs, pidfd and cgroup.
package core
