// Package helperserver is the helper executable's side of pawwork-supervisor on
// Linux (the executable is go/helper; the wire format is go/internal/wire). One
// helper runs per host process. It is a child subreaper, so every orphan of every
// tree it started re-parents to it instead of to pid 1 and stays findable as its
// descendant; it spawns on the host's behalf with the pipes the host made (handed
// over as fds, so output never takes an extra copy); and it notices the host's
// death as EOF on the socket, whatever killed the host, and then kills every tree
// it holds, except the leftovers the host let go.
//
// Because the helper is a plain Go program of its own, its leaders start clean:
// only fds 0–2 (every fd Go opens is close-on-exec, and the socket is set so), no
// blocked signals, and no ignored ones (the host — Node — ignores SIGPIPE and
// SIGXFSZ, and whatever started the host may ignore others: the helper resets them
// all to the default before its first spawn).
//
// On macOS (server_darwin.go) the helper does less, for want of a subreaper: the
// host spawns its leaders itself and registers each here, and the helper kills the
// registered trees once the host is gone (socket EOF or kqueue NOTE_EXIT on the
// host's pid); what is ours is decided over the process table by registry.go,
// whose logic, like the kill ladder's, is platform-independent and tested on Linux.
//
// The library (go/core) never links this package: it installs signal handlers,
// which a library inside Node must not.
package helperserver
