//go:build unix

package core

import (
	"os"
	"syscall"
)

const (
	sigTERM = int(syscall.SIGTERM)
	sigKILL = int(syscall.SIGKILL)
)

// startAttr is what every Unix backend passes to ForkExec: the child leads a new
// session (and so a new process group), which is how its tree is found and killed.
func startAttr(o *Options, env []string, files []*os.File, sys *syscall.SysProcAttr) *syscall.ProcAttr {
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	sys.Setsid = true
	if o.Terminal != nil {
		sys.Setctty, sys.Ctty = true, 0 // fd 0 is the terminal's slave (terminal.go)
	}
	return &syscall.ProcAttr{Dir: o.Cwd, Env: env, Files: fds, Sys: sys}
}

// readNow reads once from f without waiting and without regard to its read
// deadline (f is non-blocking: os.Pipe's ends are). eof is true at end of file.
func readNow(f *os.File, buf []byte) (n int, eof bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false, err
	}
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		for {
			n, rerr = syscall.Read(int(fd), buf)
			if rerr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return 0, false, err
	}
	if rerr != nil {
		return 0, false, rerr // EAGAIN: empty, the writer still holds the pipe
	}
	return n, n == 0, nil
}
