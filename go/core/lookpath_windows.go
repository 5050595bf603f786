package core

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

var (
	errENOENT  = syscall.ERROR_FILE_NOT_FOUND
	errENOTDIR = syscall.Errno(267) // ERROR_DIRECTORY
)

// hasDirPart reports whether argv0 names a path rather than a bare command: on
// Windows a backslash or a drive letter's colon does too.
func hasDirPart(argv0 string) bool { return strings.ContainsAny(argv0, `/\:`) }

// isPathVar reports whether an environment key is PATH: names are not case-sensitive.
func isPathVar(key string) bool { return strings.EqualFold(key, "PATH") }

func candidates(p string, env []string) []string {
	exts := []string{".com", ".exe", ".bat", ".cmd"}
	for _, kv := range env {
		if len(kv) > 8 && strings.EqualFold(kv[:8], "PATHEXT=") {
			exts = filepathSplit(kv[8:])
		}
	}
	// A name without an extension is not a program CreateProcess runs: only the
	// PATHEXT candidates are tried for it (libuv tries the name itself first only
	// when it has an extension).
	var out []string
	if filepath.Ext(p) != "" {
		out = append(out, p)
	}
	for _, e := range exts {
		out = append(out, p+e)
	}
	return out
}

func filepathSplit(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ";") {
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			return pe.Err
		}
		return err
	}
	if fi.IsDir() {
		return syscall.ERROR_ACCESS_DENIED
	}
	return nil
}
