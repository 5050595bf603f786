// Package pidfd waits for a leader's exit on Linux without reaping it, through a
// pollable pidfd (the Go netpoller: no thread per waiting leader) or, on kernels
// without one, by polling. Both the library (go/core) and the helper executable
// (go/internal/helperserver) wait so: the pid, and so the leader's group and
// session ids, stay reserved until the reap.
package pidfd
