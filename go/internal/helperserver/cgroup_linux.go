package helperserver

// The helper's cgroup v2 subtree: one directory per tree below it, made at the
// spawn (server.spawn), removed once the tree is reaped and empty.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// sweepTrees removes the cgroup of every tree the host has reaped as soon as it is
// empty. rmdir fails on a populated cgroup, so an occupied one is never lost. A
// tree still occupied at its reap (leftovers let go, or a member that escaped the
// kill) is then watched: inotify on its cgroup.events, which the kernel changes
// when "populated" drops to 0, so that a burst of exits elsewhere costs no rmdir
// per occupied tree. Only the tick (all) tries the watched ones too, in case a
// watch could not be had or an event was missed.
func (s *server) sweepTrees(all bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, dir := range s.trees {
		if _, held := s.ids[id]; held {
			continue
		}
		if _, watched := s.watched[id]; watched && !all {
			continue
		}
		s.tryRemoveTree(id, dir)
	}
}

// tryRemoveTree removes the reaped tree id's cgroup if it is empty, else watches
// it. Called with s.mu held.
func (s *server) tryRemoveTree(id int64, dir string) {
	if err := unix.Rmdir(dir); err == nil || err == unix.ENOENT {
		delete(s.trees, id)
		delete(s.letGoTrees, id)
		if wd, watched := s.watched[id]; watched {
			delete(s.watched, id)
			delete(s.watchIDs, wd)
			unix.InotifyRmWatch(s.inotifyFd, uint32(wd))
		}
		return
	}
	if _, watched := s.watched[id]; watched || !s.startInotify() {
		return
	}
	wd, err := unix.InotifyAddWatch(s.inotifyFd, filepath.Join(dir, "cgroup.events"), unix.IN_MODIFY)
	if err == nil {
		s.watched[id] = wd
		s.watchIDs[wd] = id
	}
}

// startInotify makes the inotify instance the cgroup.events watches use, once,
// read through Go's poller (no thread of its own). Called with s.mu held.
func (s *server) startInotify() bool {
	if s.inotifyFd >= 0 {
		return true
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return false
	}
	s.inotifyFd = fd
	f := os.NewFile(uintptr(fd), "inotify")
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			var wds []int
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				wds = append(wds, int(ev.Wd))
				off += unix.SizeofInotifyEvent + int(ev.Len)
			}
			s.mu.Lock()
			for _, wd := range wds {
				if id, ok := s.watchIDs[wd]; ok {
					if dir, ok := s.trees[id]; ok {
						s.tryRemoveTree(id, dir)
					}
				}
			}
			s.mu.Unlock()
		}
	}()
	return true
}

// removeCgroups removes the tree directories that are empty, then the subtree.
// Trees whose leftovers were let go and live on keep theirs (removed by nobody:
// empty directories are all that is left of them once the leftovers end).
func (s *server) removeCgroups() {
	if s.cgroup == "" {
		return
	}
	ents, _ := os.ReadDir(s.cgroup)
	for _, e := range ents {
		if e.IsDir() {
			unix.Rmdir(filepath.Join(s.cgroup, e.Name()))
		}
	}
	unix.Rmdir(s.cgroup)
}

// makeCgroupSubtree makes this helper's directory in a writable cgroup v2
// hierarchy: below setting when it names a directory, else below the helper's own
// cgroup. It returns "" and why when there is none ("0"/"off", no cgroup2 mount,
// no cgroup.kill, or not writable: the usual case without systemd delegation).
func makeCgroupSubtree(setting string, self int) (string, string) {
	switch strings.ToLower(setting) {
	case "0", "off", "false", "no":
		return "", "disabled by PAWWORK_SUPERVISOR_CGROUP=" + setting
	}
	base := setting
	if base == "" {
		mount, err := cgroup2Mount()
		if err != nil {
			return "", err.Error()
		}
		own, err := os.ReadFile("/proc/self/cgroup")
		if err != nil {
			return "", err.Error()
		}
		rel := ""
		for _, line := range strings.Split(string(own), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				rel = p
			}
		}
		base = filepath.Join(mount, rel)
	}
	removeDeadSubtrees(base)
	dir := filepath.Join(base, cgroupName(self))
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Sprintf("no writable cgroup v2 directory at %s: %v", base, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
		unix.Rmdir(dir)
		return "", "the kernel has no cgroup.kill (needs Linux 5.14)"
	}
	return dir, ""
}

// cgroupPrefix starts the name of every helper's subtree.
const cgroupPrefix = "pawwork-supervisor-"

// cgroupName is this helper's subtree's name: its pid, its start time and its pid
// namespace, so that no other helper — a later one with the same pid, or one in
// another pid namespace — can ever want the same name, and a later helper can tell
// whether the one that made it is dead.
func cgroupName(self int) string {
	start := uint64(0)
	if st, ok := procfs.ReadStat(self); ok {
		start = st.Start
	}
	return fmt.Sprintf("%s%d-%d-%d", cgroupPrefix, self, start, pidNamespace())
}

func pidNamespace() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/pid", &st) != nil {
		return 0
	}
	return st.Ino
}

// subtreeOwnerDead reports whether the helper that made the subtree called name is
// known to be dead: it ran in this pid namespace and its pid is free or another
// process's. Names of an older version (the pid alone) count as dead when the pid
// is free. A helper of another pid namespace cannot be checked: never dead.
func subtreeOwnerDead(name string) bool {
	rest, ok := strings.CutPrefix(name, cgroupPrefix)
	if !ok {
		return false
	}
	f := strings.Split(rest, "-")
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	st, alive := procfs.ReadStat(pid)
	switch len(f) {
	case 1:
		return !alive
	case 3:
		start, err1 := strconv.ParseUint(f[1], 10, 64)
		ns, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || ns != pidNamespace() {
			return false
		}
		return !alive || st.Start != start
	}
	return false
}

// removeDeadSubtrees removes the subtrees dead helpers left below base (a SIGKILLed
// helper cannot clean up): only ours by name, only of helpers known dead, and only
// the empty cgroups among them (rmdir refuses a populated one: a tree that outlived
// its helper keeps its directory).
func removeDeadSubtrees(base string) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !subtreeOwnerDead(e.Name()) {
			continue
		}
		dir := filepath.Join(base, e.Name())
		trees, _ := os.ReadDir(dir)
		for _, t := range trees {
			if t.IsDir() {
				unix.Rmdir(filepath.Join(dir, t.Name()))
			}
		}
		unix.Rmdir(dir)
	}
}

// cgroup2Mount finds where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or
// /sys/fs/cgroup/unified on hybrid systems).
func cgroup2Mount() (string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		// id parent major:minor root mountpoint options ... - fstype source superopts
		f := strings.Fields(line)
		for i, x := range f {
			if x == "-" && i+1 < len(f) && f[i+1] == "cgroup2" && len(f) > 4 {
				return f[4], nil
			}
		}
	}
	return "", errors.New("no cgroup2 hierarchy is mounted")
}
