package procfs

import (
	"bytes"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Stat is what one read of /proc/<pid>/stat tells about a process.
type Stat struct {
	Pid, PPid, Pgid, Sid int
	State                byte
	Threads              int    // live threads, the zombie main thread included
	Start                uint64 // clock ticks after boot
}

// Dead reports a zombie (or a process on its way out, 'X'): exited, not reaped.
// A main thread that ended before the process's other threads shows 'Z' too
// while they run on (pthread_exit, or a group exit still under way): that process
// is not dead — it can still fork, and hold children — until its last thread is.
func (st Stat) Dead() bool { return st.State == 'X' || (st.State == 'Z' && st.Threads <= 1) }

// Key names the process for good: its pid plus its start time.
func (st Stat) Key() Key { return Key{st.Pid, st.Start} }

// Key names one process for good: a pid plus its start time.
type Key struct {
	Pid   int
	Start uint64
}

// ReadStat parses /proc/<pid>/stat; comm may hold spaces and parentheses, so the
// fields are taken after its last ')'.
func ReadStat(pid int) (Stat, bool) {
	return readStatAt(pid, "/proc/"+strconv.Itoa(pid)+"/stat")
}

// readStatAt reads and parses a stat file of pid's (the process's, or a thread's).
func readStatAt(pid int, path string) (Stat, bool) {
	var buf [512]byte
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Stat{}, false
	}
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return Stat{}, false
	}
	return ParseStat(pid, buf[:n])
}

// ParseStat parses the text of pid's stat file.
func ParseStat(pid int, b []byte) (Stat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return Stat{}, false
	}
	// The fields after comm, split by hand: no slice of fields, no string per
	// number (a mass cancel parses thousands of these).
	var f [20][]byte
	n := 0
	for rest := b[i+2:]; n < len(f); n++ {
		var field []byte
		if field, rest = nextField(rest); len(field) == 0 {
			break
		}
		f[n] = field
	}
	if n < len(f) {
		return Stat{}, false
	}
	st := Stat{Pid: pid, State: f[0][0]}
	st.PPid = signedField(f[1])
	st.Pgid = signedField(f[2])
	st.Sid = signedField(f[3])
	st.Threads = signedField(f[17])
	st.Start = unsignedField(f[19])
	return st, true
}

// signedField parses a decimal stat field (0 when it is not one, as Atoi's error
// was taken).
func signedField(f []byte) int {
	neg := len(f) > 0 && f[0] == '-'
	if neg {
		f = f[1:]
	}
	v := int(unsignedField(f))
	if neg {
		return -v
	}
	return v
}

func unsignedField(f []byte) uint64 {
	v, _ := parseDigits(f, 20)
	return v
}

// parseDigits parses a decimal number of at most maxDigits digits and nothing else.
func parseDigits(f []byte, maxDigits int) (uint64, bool) {
	if len(f) == 0 || len(f) > maxDigits {
		return 0, false
	}
	var v uint64
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// Scan calls fn for every process in /proc.
func Scan(fn func(Stat)) {
	d, err := os.Open("/proc")
	if err != nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, ok := ReadStat(pid); ok {
			fn(st)
		}
	}
}

// LiveTable is one scan of /proc: every live (non-zombie) process, and the
// children of each pid.
func LiveTable() (all map[int]Stat, kids map[int][]int) {
	all, kids = map[int]Stat{}, map[int][]int{}
	Scan(func(st Stat) {
		if st.Dead() {
			return
		}
		all[st.Pid] = st
		kids[st.PPid] = append(kids[st.PPid], st.Pid)
	})
	return all, kids
}

// ChildrenListed reports whether the kernel lists each task's children
// (/proc/<pid>/task/<tid>/children, CONFIG_PROC_CHILDREN): then a process's
// descendants can be found from it alone, without reading all of /proc.
func ChildrenListed() bool {
	childrenOnce.Do(func() {
		tid := strconv.Itoa(unix.Gettid())
		_, err := os.Stat("/proc/self/task/" + tid + "/children")
		childrenListed = err == nil
	})
	return childrenListed
}

var (
	childrenOnce   sync.Once
	childrenListed bool
)

// ChildrenOf lists pid's children as they are now (/proc/<pid>/task/<tid>/children
// of each thread: the orphans a subreaper adopts go to any of its threads), zombies
// included. Empty when the kernel lacks the file.
func ChildrenOf(pid int) []int {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	tids, _ := d.Readdirnames(-1)
	d.Close()
	files := make([]string, len(tids))
	for i, tid := range tids {
		files[i] = dir + "/" + tid + "/children"
	}
	return childrenIn(files...)
}

// childrenIn reads the pids of children files, into a pooled buffer.
func childrenIn(files ...string) []int {
	var out []int
	bp := childrenBufs.Get().(*[]byte)
	buf := *bp
	for _, f := range files {
		buf = readInto(buf[:0], f)
		out = append(out, Pids(buf)...)
	}
	*bp = buf[:0]
	childrenBufs.Put(bp)
	return out
}

// AdoptedBy lists the children of pid as a landing point of orphans: an orphan is
// re-parented to the first thread of the subreaper (or pid 1) that is not exiting,
// which is its main thread unless that one has ended, so only the main thread's list
// is read (one file, where ChildrenOf reads the directory and one file per thread:
// a host's thirty threads made that the largest cost of finding a tree). Once the
// main thread has ended, every thread's list, as ChildrenOf.
func AdoptedBy(pid int) []int {
	kids, _, _ := AdoptedByAt(pid)
	return kids
}

// AdoptedByAt is AdoptedBy, with the stat of pid's main thread that it read (ok
// false when it could not be read): its start time is the process's.
func AdoptedByAt(pid int) (kids []int, main Stat, ok bool) {
	task := "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid)
	main, ok = readStatAt(pid, task+"/stat")
	if !ok || main.Dead() {
		return ChildrenOf(pid), main, ok
	}
	return childrenIn(task + "/children"), main, ok
}

// MainChildren lists the children of pid's main thread only: one file, where
// ChildrenOf reads the task directory and then a file per thread. That is all of
// pid's children when it has no other thread, which a stat read after the list
// tells (Threads): a child a thread forked stays that thread's while the thread
// lives, and goes to another live thread of the process when the thread ends.
func MainChildren(pid int) []int {
	p := strconv.Itoa(pid)
	return childrenIn("/proc/" + p + "/task/" + p + "/children")
}

// childrenBufs holds ChildrenOf's read buffers (readInto's 16 KiB each): a mass
// cancel lists children thousands of times.
var childrenBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// readInto appends the whole of a children file to buf (ReadFile), with room for a
// thousand children in one read: each read of a children file walks the list again
// from its start. What could not be read is left out.
func readInto(buf []byte, path string) []byte {
	if cap(buf) < 16<<10 {
		buf = make([]byte, 0, 16<<10)
	}
	buf, _ = ReadFile(path, buf)
	return buf
}

// ReadFile appends the whole of a small file (/proc, cgroupfs) to buf: open, reads,
// close, without os.ReadFile's fstat, try at the poller and fresh buffer (a mass
// cancel reads thousands of them). buf grows when the content outgrows it. On an
// error it returns what it read so far, with the error.
func ReadFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return buf, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf[:cap(buf)], make([]byte, max(cap(buf), 512))...)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// Pids parses a whitespace-separated list of pids (a children or cgroup.procs
// file), skipping what is not a number.
func Pids(b []byte) []int {
	var out []int
	for {
		f, rest := nextField(b)
		if len(f) == 0 {
			return out
		}
		if k, ok := atoi(f); ok {
			out = append(out, k)
		}
		b = rest
	}
}

// nextField splits off b's first field (fields are separated by white space); the
// field is empty when none is left.
func nextField(b []byte) (field, rest []byte) {
	start := 0
	for start < len(b) && isSpace(b[start]) {
		start++
	}
	end := start
	for end < len(b) && !isSpace(b[end]) {
		end++
	}
	return b[start:end], b[end:]
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// atoi parses a pid without a string copy (a children list of a thousand is read
// on every round of a cancel).
func atoi(f []byte) (int, bool) {
	v, ok := parseDigits(f, 10)
	return int(v), ok
}

// RealUID is pid's real uid, from /proc/<pid>/status.
func RealUID(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	i := bytes.Index(b, []byte("\nUid:"))
	if i < 0 {
		return 0, false
	}
	f := bytes.Fields(b[i+5:])
	if len(f) == 0 {
		return 0, false
	}
	uid, err := strconv.Atoi(string(f[0]))
	return uid, err == nil
}

// EnvironHas reports whether the environment pid was started with holds entry
// (NUL-terminated); sure is false when there was nothing to read (a kernel thread,
// a process inside execve whose new environment is not set up yet, one that is
// exiting, or an empty environment) or the read failed: worth another look later.
func EnvironHas(pid int, entry []byte) (has, sure bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil || len(b) == 0 {
		return false, false
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return bytes.Equal(append(b, 0), entry), true
		}
		if bytes.Equal(b[:i+1], entry) {
			return true, true
		}
		b = b[i+1:]
	}
	return false, true
}

// Signal signals the process st describes through a pidfd, if it is still that
// process (same start time) and not a zombie: a re-used pid is never hit. It says
// whether the signal reached it (false when it was gone, a zombie, or its pid was
// re-used).
func Signal(st Stat, sig unix.Signal) bool {
	return Pinned(st, false, func(fd int) bool {
		if fd < 0 {
			return unix.Kill(st.Pid, sig) == nil
		}
		return unix.PidfdSendSignal(fd, sig, nil, 0) == nil
	})
}

// SignalGroup signals the process group led by the process st describes (whose
// id is its pid), through a pidfd pinned to that leader (PIDFD_SIGNAL_PROCESS_GROUP,
// Linux 6.9: the group of the pidfd's pid, not of a number), only if its pid still
// names it (same start time; alive or a zombie). Once the leader is reaped nothing
// is signalled, even if its number names another group by then. It says whether
// the signal was sent; false also on a kernel without the flag (see
// GroupSignalPinned).
func SignalGroup(st Stat, sig unix.Signal) bool {
	return pinned(st, func(Stat) bool { return true }, func(fd int) bool {
		return fd >= 0 && unix.PidfdSendSignal(fd, sig, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP) == nil
	})
}

// GroupSignalPinned reports whether the kernel signals a process group through a
// pidfd (SignalGroup): probed once, with signal 0 to the group the caller's pid
// names. A kernel without the flag refuses it (EINVAL); one with it sends, or finds
// no such group (ESRCH) when the caller leads none.
var GroupSignalPinned = sync.OnceValue(func() bool {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	err = unix.PidfdSendSignal(fd, 0, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP)
	return err == nil || err == unix.ESRCH
})

// Reap reaps st, a zombie child of the caller, if its pid still names it (same
// start time, still a zombie): a re-used pid is never waited for. It says whether
// it was reaped.
func Reap(st Stat) bool {
	return Pinned(st, true, func(fd int) bool {
		var info unix.Siginfo
		if fd < 0 {
			return unix.Waitid(unix.P_PID, st.Pid, &info, unix.WEXITED|unix.WNOHANG, nil) == nil
		}
		return unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil) == nil
	})
}

// Pinned runs act on the process st describes while its pid cannot name another:
// through a pidfd opened first (fd), then checked against st's start time and
// against zombie (whether it must be one, or must not). On a kernel without
// pidfds, act gets fd -1 after the same check, by the bare pid (a window remains
// there, as with any pid). It says what act said; false when act did not run (the
// process was gone, its state was not the one asked for, or its pid was re-used).
func Pinned(st Stat, zombie bool, act func(fd int) bool) bool {
	return pinned(st, func(now Stat) bool { return now.Dead() == zombie }, act)
}

// pinned is Pinned with the state asked for as a test of the stat read after the
// pidfd pinned the process (its start time is always checked).
func pinned(st Stat, state func(now Stat) bool, act func(fd int) bool) bool {
	fd, err := unix.PidfdOpen(st.Pid, 0)
	if err != nil {
		if err != unix.ENOSYS {
			return false // gone already
		}
		fd = -1
	} else {
		defer unix.Close(fd)
	}
	if now, ok := ReadStat(st.Pid); !ok || now.Start != st.Start || !state(now) {
		return false
	}
	return act(fd)
}
