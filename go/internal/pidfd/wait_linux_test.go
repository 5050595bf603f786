package pidfd

import (
	"os/exec"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
	"golang.org/x/sys/unix"
)

const bound = 20 * time.Second

// start runs sh -c script and returns its pid (the test reaps it).
func start(t *testing.T, script string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func waitWithin(t *testing.T, what string, fn func() (Status, error)) Status {
	t.Helper()
	type res struct {
		st  Status
		err error
	}
	done := make(chan res, 1)
	go func() { st, err := fn(); done <- res{st, err} }()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r.st
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
	}
	return Status{}
}

// Both waits report the exit (code, or the killing signal) and leave the process
// an unreaped zombie; Reap then reaps it.
func TestWaitReportsTheExitWithoutReaping(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		want   Status
		poll   bool
	}{
		{"pidfd exit", "exit 7", Status{Code: 7}, false},
		{"pidfd signal", "kill -9 $$", Status{Signal: 9}, false},
		{"poll exit", "exit 7", Status{Code: 7}, true},
		{"poll signal", "kill -9 $$", Status{Signal: 9}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := start(t, tc.script)
			pid := cmd.Process.Pid
			var st Status
			if tc.poll {
				st = waitWithin(t, "WaitPoll", func() (Status, error) {
					var info unix.Siginfo
					err := WaitPoll(pid, &info)
					return status(&info), err
				})
			} else {
				fd, err := unix.PidfdOpen(pid, 0)
				if err != nil {
					t.Skip("no pidfd:", err)
				}
				f := Open(fd)
				defer f.Close()
				st = waitWithin(t, "Wait", func() (Status, error) { return Wait(f, pid) })
			}
			if st != tc.want {
				t.Errorf("status %+v, want %+v", st, tc.want)
			}
			if s, ok := procfs.ReadStat(pid); !ok || s.State != 'Z' {
				t.Errorf("after the wait the process is %+v (found %v), want an unreaped zombie", s, ok)
			}
			Reap(pid)
			if _, ok := procfs.ReadStat(pid); ok {
				t.Errorf("process %d still in /proc after Reap", pid)
			}
		})
	}
}
