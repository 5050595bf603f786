//go:build linux

package core

import (
	"os"
	"os/exec"
	"testing"
)

// TestCrossCompile type-checks and builds the core for the platforms this machine
// cannot run, so that a platform file cannot rot unnoticed (the core is pure Go).
func TestCrossCompile(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	if testing.Short() {
		t.Skip("short mode")
	}
	for _, target := range []struct{ goos, goarch string }{
		{"darwin", "arm64"}, {"darwin", "amd64"}, {"windows", "amd64"},
	} {
		t.Run(target.goos+"_"+target.goarch, func(t *testing.T) {
			for _, args := range [][]string{{"vet", "."}, {"build", "."}} {
				cmd := exec.Command(gobin, args...)
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+target.goos, "GOARCH="+target.goarch)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("go %v for %s/%s: %v\n%s", args, target.goos, target.goarch, err, out)
				}
			}
		})
	}
}
