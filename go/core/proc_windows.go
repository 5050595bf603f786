package core

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	sigTERM = 15
	sigKILL = 9
)

// killExitCode is the exit code TerminateJobObject and TerminateProcess give, as
// libuv's kill does; a leader that ends with it after our kill is reported as
// killed by SIGKILL.
const killExitCode = 1

// failedStartWaitMs bounds the wait for a leader killed because its start failed
// after CreateProcess (the spawn fails either way; its handles are closed after).
const failedStartWaitMs = 5000

// proc is a started leader on Windows and the Job Object that holds its tree (see
// job_windows.go). Windows has no signals: SIGKILL is TerminateJobObject (or
// TerminateProcess for the leader alone), every other signal is CTRL_BREAK_EVENT to
// the child's process group (console_windows.go).
type proc struct {
	pid           int
	process       windows.Handle // open until reap: the pid cannot be re-used before
	sharedConsole bool           // the child is on the host's console (else its own)

	mu             sync.Mutex
	job            windows.Handle // 0 after reap
	exited         bool
	killed         bool // we terminated the job or the leader
	leftoversLetGo bool // the leftovers were let go: closing the job must not kill them
}

// leaders maps the pids of our running leaders to their procs: Descendants of one
// is its job's members.
var leaders = struct {
	sync.Mutex
	m map[int]*proc
}{m: map[int]*proc{}}

// startProc creates the leader suspended, puts it in a new job, and only then lets
// it run, so that nothing it starts can escape the job. The standard handles are
// inherited by this child alone (PROC_THREAD_ATTRIBUTE_HANDLE_LIST).
func startProc(path string, o *Options, env []string, files []*os.File) (*proc, error) {
	app, line, err := commandLine(path, o.Argv)
	if err != nil {
		return nil, err
	}
	app16, err := windows.UTF16PtrFromString(app)
	if err != nil {
		return nil, err
	}
	line16, err := windows.UTF16FromString(line) // CreateProcessW may write to it
	if err != nil {
		return nil, err
	}
	var dir16 *uint16
	if o.Cwd != "" {
		if dir16, err = windows.UTF16PtrFromString(o.Cwd); err != nil {
			return nil, err
		}
	}
	block, err := envBlock(env)
	if err != nil {
		return nil, err
	}

	std, inherit, err := childHandles(files)
	defer func() {
		for _, h := range inherit {
			windows.CloseHandle(h)
		}
	}()
	if err != nil {
		return nil, err
	}
	si := &windows.StartupInfoEx{}
	si.Cb = uint32(unsafe.Sizeof(*si))
	si.Flags = windows.STARTF_USESTDHANDLES
	si.StdInput, si.StdOutput, si.StdErr = std[0], std[1], std[2]
	flags := uint32(windows.CREATE_UNICODE_ENVIRONMENT | windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP)
	if o.console != 0 {
		// A terminal session (pty_windows.go): the leader's console is the pseudo
		// console, its standard handles that console's; nothing is inherited.
		si.Flags = 0
		attrs, err := windows.NewProcThreadAttributeList(1)
		if err != nil {
			return nil, err
		}
		defer attrs.Delete()
		// The attribute's value is the HPCON itself (an opaque handle, not Go memory).
		pc := o.console
		if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, *(*unsafe.Pointer)(unsafe.Pointer(&pc)), unsafe.Sizeof(pc)); err != nil {
			return nil, err
		}
		si.ProcThreadAttributeList = attrs.List()
		flags |= windows.EXTENDED_STARTUPINFO_PRESENT
	} else if len(inherit) > 0 {
		attrs, err := windows.NewProcThreadAttributeList(1)
		if err != nil {
			return nil, err
		}
		defer attrs.Delete()
		if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&inherit[0]),
			uintptr(len(inherit))*unsafe.Sizeof(inherit[0])); err != nil {
			return nil, err
		}
		si.ProcThreadAttributeList = attrs.List()
		flags |= windows.EXTENDED_STARTUPINFO_PRESENT
	}

	job, err := newJob()
	if err != nil {
		return nil, &Error{Code: "EPERM", Syscall: "CreateJobObject", Msg: "cannot create a job object: " + err.Error(), Err: err}
	}
	var pi windows.ProcessInformation
	consoleMu.Lock()
	shared := hostHasConsole() && o.console == 0
	if !shared && o.console == 0 {
		flags |= windows.CREATE_NO_WINDOW
	}
	err = windows.CreateProcess(app16, &line16[0], nil, nil, len(inherit) > 0, flags, block, dir16, &si.StartupInfo, &pi)
	consoleMu.Unlock()
	if err != nil {
		windows.CloseHandle(job)
		return nil, err
	}
	fail := func(call string, err error) (*proc, error) {
		windows.TerminateProcess(pi.Process, killExitCode)
		windows.WaitForSingleObject(pi.Process, failedStartWaitMs)
		windows.CloseHandle(pi.Thread)
		windows.CloseHandle(pi.Process)
		windows.CloseHandle(job)
		code, errno := errnoCode(err)
		return nil, &Error{Code: code, Syscall: call, Path: o.Argv[0], Errno: errno, Err: err,
			Msg: "spawn " + o.Argv[0] + ": " + call + ": " + err.Error()}
	}
	if err := windows.AssignProcessToJobObject(job, pi.Process); err != nil {
		return fail("AssignProcessToJobObject", err)
	}
	if n, err := windows.ResumeThread(pi.Thread); n == ^uint32(0) {
		return fail("ResumeThread", err)
	}
	windows.CloseHandle(pi.Thread)
	p := &proc{pid: int(pi.ProcessId), process: pi.Process, sharedConsole: shared, job: job}
	leaders.Lock()
	leaders.m[p.pid] = p
	leaders.Unlock()
	return p, nil
}

// childHandles duplicates the child's standard handles into inheritable ones (the
// originals stay non-inheritable, so no other spawn in the host picks them up). A
// missing handle (an "inherit" of a stream the host does not have) stays 0.
func childHandles(files []*os.File) (std [3]windows.Handle, inherit []windows.Handle, err error) {
	self := windows.CurrentProcess()
	for i, f := range files {
		if i > 2 || f == nil {
			continue
		}
		h := windows.Handle(f.Fd())
		if h == 0 || h == windows.InvalidHandle {
			continue
		}
		var dup windows.Handle
		if err := windows.DuplicateHandle(self, h, self, &dup, 0, true, windows.DUPLICATE_SAME_ACCESS); err != nil {
			return std, inherit, &Error{Code: "EBADF", Syscall: "DuplicateHandle",
				Msg: "cannot pass the child its standard handle " + [3]string{"stdin", "stdout", "stderr"}[i] + ": " + err.Error(), Err: err}
		}
		std[i] = dup
		inherit = append(inherit, dup)
	}
	return std, inherit, nil
}

// envBlock builds a CREATE_UNICODE_ENVIRONMENT block: one entry per name (names
// compare without case on Windows; the last entry wins), sorted by name without
// case as CreateProcess documents. SYSTEMROOT, SYSTEMDRIVE and WINDIR are taken from
// the host when env lacks them, as libuv does: without them many programs (and
// Winsock) fail to start.
func envBlock(env []string) (*uint16, error) {
	type kv struct{ key, entry string }
	seen := map[string]int{}
	var list []kv
	add := func(entry string) {
		// A name may start with '=' (the per-drive current directories "=C:=C:\x").
		i := strings.IndexByte(entry[1:], '=') + 1
		if i == 0 {
			return
		}
		key := strings.ToUpper(entry[:i])
		if j, ok := seen[key]; ok {
			list[j].entry = entry
			return
		}
		seen[key] = len(list)
		list = append(list, kv{key, entry})
	}
	for _, e := range env {
		if strings.IndexByte(e, 0) >= 0 {
			return nil, usage("env entry %q contains a NUL byte", strings.SplitN(e, "=", 2)[0])
		}
		if len(e) > 1 {
			add(e)
		}
	}
	for _, k := range []string{"SYSTEMROOT", "SYSTEMDRIVE", "WINDIR"} {
		if _, ok := seen[k]; !ok {
			if v, ok := os.LookupEnv(k); ok {
				add(k + "=" + v)
			}
		}
	}
	sort.SliceStable(list, func(a, b int) bool { return list[a].key < list[b].key })
	var u []uint16
	for _, e := range list {
		u = append(u, windows.StringToUTF16(e.entry)...) // with its NUL
	}
	if len(u) == 0 {
		u = append(u, 0)
	}
	u = append(u, 0)
	return &u[0], nil
}

func (p *proc) wait() (exitStatus, error) {
	_, err := windows.WaitForSingleObject(p.process, windows.INFINITE)
	var code uint32
	if err == nil {
		err = windows.GetExitCodeProcess(p.process, &code)
	}
	p.mu.Lock()
	p.exited = true
	killed := p.killed
	p.mu.Unlock()
	if err != nil {
		return exitStatus{code: -1}, err
	}
	if killed && code == killExitCode {
		return exitStatus{signal: sigKILL}, nil
	}
	return exitStatus{code: int(code)}, nil
}

// reap closes the leader's handles and the job's. Closing the job kills what is
// still in it (kill-on-close), unless letGo let those processes go first.
func (p *proc) reap() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.job == 0 {
		return
	}
	if p.leftoversLetGo {
		setJobKillOnClose(p.job, false)
	}
	windows.CloseHandle(p.job)
	windows.CloseHandle(p.process)
	p.job = 0
	leaders.Lock()
	delete(leaders.m, p.pid)
	leaders.Unlock()
}

// letGo lets the leftovers of a natural exit go: the job stays their container
// but no longer kills them when its handle closes (at reap, or when the host dies).
func (p *proc) letGo(pids []int) {
	p.mu.Lock()
	p.leftoversLetGo = true
	p.mu.Unlock()
}

// signalLeader: SIGKILL terminates the leader alone; any other signal is a
// CTRL_BREAK_EVENT, which Windows can aim only at the whole process group.
func (p *proc) signalLeader(sig int) error {
	p.mu.Lock()
	if p.exited || p.job == 0 {
		p.mu.Unlock()
		return nil
	}
	if sig == sigKILL {
		p.killed = true
		err := windows.TerminateProcess(p.process, killExitCode)
		p.mu.Unlock()
		return err
	}
	p.mu.Unlock()
	return p.ctrlBreak()
}

func (p *proc) containment() string { return strings.Join(windowsContainment, "+") }

var windowsContainment = []string{"job"}

// signalTree: SIGKILL terminates the job (every member at once, and the job then
// refuses new processes); any other signal is CTRL_BREAK_EVENT to the group.
func (p *proc) signalTree(sig int) {
	p.mu.Lock()
	if p.job == 0 {
		p.mu.Unlock()
		return
	}
	if sig == sigKILL {
		p.killed = true
		windows.TerminateJobObject(p.job, killExitCode)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.ctrlBreak()
}

func (p *proc) ctrlBreak() error {
	var attach []int
	if !p.sharedConsole {
		attach = append([]int{p.pid}, without(p.members(), p.pid)...)
	}
	return sendCtrlBreak(p.pid, p.sharedConsole, attach)
}

// freezeTree has nothing to do: no process can leave the job, and
// TerminateJobObject also stops the job from taking new ones, so a member that
// creates processes while it is being killed cannot outrun the kill.
func (p *proc) freezeTree() {}

// members lists the processes in the job. The tree is gone only when the job counts
// no active process; while it counts more than its id list shows (processes in the
// middle of ending), the leader's pid stands in for them.
//
// A child with a console of its own (CREATE_NO_WINDOW) gets a console host process,
// conhost.exe, which Windows 10+ (and Wine) starts inside the child's job; it is the
// console's, not the tree's, ends when the console's last process detaches, and is
// not listed (TerminateJobObject still ends it with the rest).
func (p *proc) members() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.job == 0 {
		return nil
	}
	pids, lerr := jobPids(p.job)
	active, aerr := jobActive(p.job)
	if lerr != nil {
		if aerr == nil && active == 0 {
			return nil
		}
		return []int{p.pid}
	}
	out := pids[:0]
	for _, pid := range pids {
		if p.sharedConsole || pid == p.pid || !isConsoleHost(pid) {
			out = append(out, pid)
		}
	}
	if aerr == nil && active > len(pids) && len(out) == 0 {
		out = append(out, p.pid)
	}
	return out
}

// isConsoleHost reports whether pid runs conhost.exe from the system directory.
func isConsoleHost(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if windows.QueryFullProcessImageName(h, 0, &buf[0], &n) != nil {
		return false
	}
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return false
	}
	return strings.EqualFold(windows.UTF16ToString(buf[:n]), filepath.Join(sys, "conhost.exe"))
}

func createdAt(pid int) (int64, bool) {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return 0, false
	}
	defer windows.CloseHandle(h)
	var c, x, k, u windows.Filetime
	if windows.GetProcessTimes(h, &c, &x, &k, &u) != nil {
		return 0, false
	}
	return c.Nanoseconds(), true
}
