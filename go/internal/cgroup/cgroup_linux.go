package cgroup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

// Procs lists the pids in the cgroup dir (cgroup.procs), zombies included.
func Procs(dir string) ([]int, error) {
	var small [512]byte
	b, err := readFile(filepath.Join(dir, "cgroup.procs"), small[:])
	if err != nil {
		return nil, err
	}
	return procfs.Pids(b), nil
}

// readFile reads a cgroup file whole: open, reads, close (os.ReadFile adds an
// fstat, a try at the poller and a heap buffer: a mass cancel reads these files
// thousands of times). buf is used while the content fits.
func readFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
	}
}

// Kill SIGKILLs every process in the cgroup dir at once, forks in flight included
// (cgroup.kill, Linux 5.14).
func Kill(dir string) error {
	return os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
}

// Populated reads the cgroup's cgroup.events: whether any live process is in it
// or below it ("populated 1"). One small read, whatever the tree's size.
func Populated(dir string) (bool, error) {
	var small [128]byte
	b, err := readFile(filepath.Join(dir, "cgroup.events"), small[:])
	if err != nil {
		return false, err
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("populated ")); ok {
			return string(bytes.TrimSpace(v)) != "0", nil
		}
	}
	return false, errors.New(dir + "/cgroup.events has no populated line")
}
