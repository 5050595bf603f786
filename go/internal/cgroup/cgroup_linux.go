package cgroup

import (
	"os"
	"path/filepath"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

// Procs lists the pids in the cgroup dir (cgroup.procs), zombies included.
func Procs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
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
