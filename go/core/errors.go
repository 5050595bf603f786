package core

import (
	"errors"
	"fmt"
	"syscall"
)

// Error is a typed failure of this package. Code uses Node's error codes (ENOENT,
// EACCES, ENOTDIR, E2BIG, EINVAL, ...) so that the facade can hand it to JavaScript
// unchanged.
type Error struct {
	Code    string // Node-style code, e.g. "ENOENT"
	Syscall string // what failed, e.g. "spawn /bin/nope", "chdir"
	Path    string // the file involved, if any
	Errno   syscall.Errno
	Msg     string // human text without the prefix
	Err     error  // underlying error, if any
}

func (e *Error) Error() string {
	return "pawwork-supervisor: " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// usage reports invalid input; it never comes from the OS.
func usage(format string, args ...any) *Error {
	return &Error{Code: "EINVAL", Syscall: "spawn", Errno: syscall.EINVAL, Msg: fmt.Sprintf(format, args...)}
}

// errnoCode maps an errno to the code Node uses for it.
func errnoCode(err error) (string, syscall.Errno) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := errnoName(errno); name != "" {
			return name, errno
		}
		return fmt.Sprintf("E%d", int(errno)), errno
	}
	return "EUNKNOWN", 0
}

// spawnError wraps an OS error from starting argv0.
func spawnError(argv0 string, err error) *Error {
	code, errno := errnoCode(err)
	return &Error{
		Code: code, Syscall: "spawn " + argv0, Path: argv0, Errno: errno, Err: err,
		Msg: fmt.Sprintf("spawn %s %s: %v", argv0, code, err),
	}
}
