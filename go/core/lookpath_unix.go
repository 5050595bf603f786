//go:build unix

package core

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

var (
	errENOENT  = syscall.ENOENT
	errENOTDIR = syscall.ENOTDIR
)

// hasDirPart reports whether argv0 names a path rather than a bare command.
func hasDirPart(argv0 string) bool { return strings.ContainsRune(argv0, '/') }

// isPathVar reports whether an environment key is PATH.
func isPathVar(key string) bool { return key == "PATH" }

func candidates(p string, _ []string) []string { return []string{p} }

// checkExecutable reports what execve would: ENOENT, EACCES for a directory or a
// file without the execute bit.
func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return underlying(err)
	}
	if fi.IsDir() {
		return syscall.EACCES
	}
	if err := unix.Access(p, unix.X_OK); err != nil {
		return err
	}
	return nil
}

func underlying(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
