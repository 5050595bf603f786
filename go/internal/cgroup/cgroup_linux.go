package cgroup

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// Procs lists the pids in the cgroup dir (cgroup.procs), zombies included.
func Procs(dir string) ([]int, error) {
	var small [512]byte
	b, err := procfs.ReadFile(filepath.Join(dir, "cgroup.procs"), small[:0])
	if err != nil {
		return nil, err
	}
	return procfs.Pids(b), nil
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
	b, err := procfs.ReadFile(filepath.Join(dir, "cgroup.events"), small[:0])
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
