package core

import (
	"os"
	"sync"
	"syscall"
)

const (
	sigTERM = 15
	sigKILL = 9
)

var (
	errENOENT  = syscall.ERROR_FILE_NOT_FOUND
	errENOTDIR = syscall.Errno(267) // ERROR_DIRECTORY
)

// proc is a started leader on Windows. This first backend holds only the leader:
// Job Objects (the whole tree, kill-on-close) are the Windows issue's work. Every
// "signal" terminates the leader.
type proc struct {
	pid int
	p   *os.Process

	mu     sync.Mutex
	exited bool
}

func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	p, err := os.StartProcess(path, o.Argv, &os.ProcAttr{Dir: o.Cwd, Env: env, Files: files,
		Sys: &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}})
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			return nil, pe.Err
		}
		return nil, err
	}
	return &proc{pid: p.Pid, p: p}, nil
}

func (p *proc) wait() (exitStatus, error) {
	st, err := p.p.Wait()
	p.mu.Lock()
	p.exited = true
	p.mu.Unlock()
	if err != nil {
		return exitStatus{code: -1}, err
	}
	return exitStatus{code: st.ExitCode()}, nil
}

func (p *proc) reap() {}

func (p *proc) signalLeader(sig int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return nil
	}
	return p.p.Kill()
}

func (p *proc) containment() string { return "leader-only" }

func (p *proc) signalTree(sig int) { p.signalLeader(sig) }

func (p *proc) freezeTree() {}

func (p *proc) members() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return nil
	}
	return []int{p.pid}
}

// Descendants is not implemented on Windows yet (the baseline returns none either).
func Descendants(pid int) []int { return nil }

func candidates(p string, env []string) []string {
	exts := []string{".com", ".exe", ".bat", ".cmd"}
	for _, kv := range env {
		if len(kv) > 8 && (kv[:8] == "PATHEXT=" || kv[:8] == "Pathext=") {
			exts = filepathSplit(kv[8:])
		}
	}
	out := []string{p}
	for _, e := range exts {
		out = append(out, p+e)
	}
	return out
}

func filepathSplit(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ';' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
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

// readNow would read without waiting; Windows pipes here are synchronous, so it
// reports nothing read (the drain then ends as truncated, as before).
func readNow(f *os.File, buf []byte) (n int, eof bool, err error) { return 0, false, nil }

// release: nothing to hand back without a helper.
func (p *proc) release(pids []int) {}
