package core

import (
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/pidfd"
	"github.com/pawwork/pawwork-supervisor/go/internal/procfs"
)

func taskCount() int {
	ents, _ := os.ReadDir("/proc/self/task")
	return len(ents)
}

// The Go runtime aborts when it cannot create a thread, so inside a host under
// RLIMIT_NPROC the core must need none after ReserveThreads: 60 children started
// one after another (as the host does, from its one JS thread) and all cancelled at
// once — 60 ladders scanning /proc and signalling — run on the threads there are.
func TestThreadsDoNotGrowWithSpawnsAndCancels(t *testing.T) {
	for _, mode := range []string{"direct", "helper"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t)
			if mode == "helper" {
				withHelper(t)
			}
			procs, reserved := ReserveThreads()
			// One child through the whole path first, so that what is made once and
			// kept (the helper connection, timers) exists before the count.
			c := h.start(&Options{Argv: helperArgv("echo", "warm"), Stdout: StdioPipe})
			h.waitExit(c)
			before := taskCount()
			var most atomic.Int64
			most.Store(int64(before))
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					release := blocking() // the sampler reads /proc too: within the bound
					n := int64(taskCount())
					release()
					if n > most.Load() {
						most.Store(n)
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
			var kids []*Child
			for i := 0; i < 60; i++ {
				kids = append(kids, h.start(&Options{Argv: helperArgv("sleep"), Stdout: StdioPipe}))
			}
			for _, c := range kids {
				h.waitStdout(c, "ready")
			}
			for _, c := range kids {
				c.Cancel(ReasonStop, 0, -1)
			}
			for _, c := range kids {
				h.waitExit(c)
			}
			close(stop)
			<-sampled
			t.Logf("GOMAXPROCS %d, %d threads reserved; threads before %d, at most %d, after %d", procs, reserved, before, most.Load(), taskCount())
			if most.Load() > int64(before) {
				t.Errorf("the process grew from %d to %d threads during 60 spawns and cancels: the runtime needed new threads", before, most.Load())
			}
		})
	}
}

// Without a pidfd (kernels before 5.3) the wait polls: it reports the exit without
// reaping, and holds no thread while it waits.
func TestWaitPollReportsTheExitWithoutReaping(t *testing.T) {
	cmd := exec.Command(selfExe(), helperArg, helperName("write"), "", "", "7")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	type result struct {
		st  pidfd.Status
		err error
	}
	done := make(chan result, 1)
	go func() { st, err := pidfd.Wait(nil, pid); done <- result{st, err} }()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("wait: %v", r.err)
		}
		if r.st.Code != 7 || r.st.Signal != 0 {
			t.Errorf("status %+v, want code 7", r.st)
		}
	case <-time.After(bound):
		t.Fatalf("the polling wait did not return within %v", bound)
	}
	if s, ok := procfs.ReadStat(pid); !ok || s.State != 'Z' {
		t.Errorf("after the wait the process is %+v (found %v), want an unreaped zombie", s, ok)
	}
	cmd.Wait() // reaps it
}
