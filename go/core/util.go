package core

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own plain structs are marshalled; failing here is a bug.
		panic("pawwork-supervisor: marshal: " + err.Error())
	}
	return b
}

// checkDir gives a bad cwd its own clear error instead of the exec's (Node reports
// a missing cwd as "spawn <cmd> ENOENT", which names the wrong file).
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		code, errno := errnoCode(err)
		return &Error{Code: code, Syscall: "chdir", Path: dir, Errno: errno, Err: err, Msg: "cwd " + dir + ": " + code}
	}
	if !fi.IsDir() {
		return &Error{Code: "ENOTDIR", Syscall: "chdir", Path: dir, Errno: errENOTDIR, Msg: "cwd " + dir + " is not a directory"}
	}
	// A directory we may not search (e.g. mode 0600, not ours) fails the child's chdir,
	// which was reported as "spawn <cmd> EACCES", naming the command. Resolving "dir/."
	// needs search permission on dir, as chdir does (not filepath.Join: it cleans the ".").
	if _, err := os.Stat(dir + string(os.PathSeparator) + "."); err != nil {
		code, errno := errnoCode(err)
		return &Error{Code: code, Syscall: "chdir", Path: dir, Errno: errno, Err: err, Msg: "cwd " + dir + ": " + code}
	}
	return nil
}

// lookPath resolves argv0 the way libuv does: a name with a separator is taken
// relative to cwd; a bare name is searched in the child's PATH.
func lookPath(argv0, cwd string, env []string) (string, error) {
	if hasDirPart(argv0) {
		p := argv0
		if !filepath.IsAbs(p) && cwd != "" {
			p = filepath.Join(cwd, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", spawnError(argv0, err)
		}
		return execPath(p, cwd), nil
	}
	// With no PATH at all, libuv (like execvp) searches the default path.
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && isPathVar(k) {
			path = v
		}
	}
	var firstErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		if !filepath.IsAbs(dir) && cwd != "" {
			dir = filepath.Join(cwd, dir)
		}
		for _, cand := range candidates(filepath.Join(dir, argv0), env) {
			err := checkExecutable(cand)
			if err == nil {
				return execPath(cand, cwd), nil
			}
			if firstErr == nil && !os.IsNotExist(err) {
				firstErr = err
			}
		}
	}
	if firstErr == nil {
		firstErr = errENOENT
	}
	return "", spawnError(argv0, firstErr)
}

// execPath makes p, checked relative to the host's directory, absolute when the
// child gets another cwd: the exec happens after the chdir, where a relative p
// would be resolved against cwd a second time.
func execPath(p, cwd string) string {
	if cwd == "" || filepath.IsAbs(p) {
		return p
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}
