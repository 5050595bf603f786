package helperserver

// The helper on macOS: host-death cleanup only. macOS has no subreaper (an orphan
// goes to launchd whoever started it) and the host must be its leaders' parent to
// learn their exit status, so the host spawns, and registers each leader here
// (wire "watch"); the helper watches the host and, once it is gone, kills every
// registered tree (registry.go decides what is ours; killLadder ends it).
//
// The host's end is noticed two ways, whichever comes first: EOF on the socket
// (fd 3), and kqueue's EVFILT_PROC NOTE_EXIT on the host's pid (the socket alone
// could be held open by a process that inherited the host's end in the moment
// between socketpair and close-on-exec, or between a fork of the host's and its
// exec).

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/wire"
	"golang.org/x/sys/unix"
)

// Bounds of the host-death kill: SIGTERM, then SIGKILL after killGrace (sooner if
// all are gone), everything within killAllBound; survivors are reported on stderr.
const (
	killGrace    = 500 * time.Millisecond
	killAllBound = 5 * time.Second
	pruneEvery   = 2 * time.Second
	drainBound   = 200 * time.Millisecond
)

// Main runs the helper; the socket to the host is fd 3 (wire.Fd), the host's pid
// is --host=PID (the helper's parent). It returns once the host is gone and every
// tree it registered was killed.
func Main() int {
	host := 0
	for _, a := range os.Args[2:] {
		if v, ok := strings.CutPrefix(a, "--host="); ok {
			host, _ = strconv.Atoi(v)
		}
	}
	if host <= 1 {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: no --host=PID; it is started by the library, not by hand\n")
		return 2
	}
	if !takeFds() {
		return 2
	}
	// Terminal and polite signals do not end the helper: it lives exactly as long
	// as its host.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGPIPE)
	go func() {
		for range sigs {
		}
	}()
	sock := os.NewFile(wire.Fd, "host")
	s := &watchServer{self: os.Getpid(), host: host, uid: os.Getuid(), in: sock, out: sock, reg: newRegistry(),
		readTable: readTable, sleep: time.Sleep, now: time.Now,
		signal: func(p procRow, step ladderStep) { unix.Kill(p.pid, ladderSignals[step]) }}
	gone := make(chan string, 4)
	if err := watchHost(host, gone); err != nil {
		gone <- err.Error()
	}
	if os.Getppid() != host {
		gone <- fmt.Sprintf("host %d is not the helper's parent any more", host)
	}
	s.send(wire.Msg{Op: "hello", Pid: s.self, Build: wire.BuildID})
	served := make(chan struct{})
	go func() {
		s.serve(gone)
		close(served)
	}()
	go func() {
		for range time.Tick(pruneEvery) {
			s.prune()
		}
	}()
	why := <-gone
	// What the host wrote before it died (a watch right after a fork, a letgo) is
	// still in the socket: taken before the kill, bounded (EOF follows the host's
	// death unless a process that inherited its end holds it).
	select {
	case <-served:
	case <-time.After(drainBound):
	}
	if os.Getenv(wire.DebugVar) != "" {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: %s: killing the trees of host %d\n", why, host)
	}
	if left := s.killAll(killGrace, killAllBound); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "pawwork-supervisor-helper: %d processes survived the host-death kill (bound %v): %v\n", len(left), killAllBound, rowPids(left))
		return 1
	}
	return 0
}

// watchHost reports on gone when the process host exits (kqueue EVFILT_PROC
// NOTE_EXIT); an error if it cannot be watched (ESRCH: it is gone already).
func watchHost(host int, gone chan<- string) error {
	kq, err := unix.Kqueue()
	if err != nil {
		return fmt.Errorf("kqueue: %v", err)
	}
	unix.CloseOnExec(kq)
	var ev unix.Kevent_t
	unix.SetKevent(&ev, host, unix.EVFILT_PROC, unix.EV_ADD|unix.EV_ONESHOT)
	ev.Fflags = unix.NOTE_EXIT
	if _, err := unix.Kevent(kq, []unix.Kevent_t{ev}, nil, nil); err != nil {
		unix.Close(kq)
		return fmt.Errorf("host %d cannot be watched: %v", host, err)
	}
	go func() {
		out := make([]unix.Kevent_t, 1)
		for {
			n, err := unix.Kevent(kq, nil, out, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				gone <- fmt.Sprintf("kevent: %v", err)
				return
			}
			if n > 0 {
				gone <- fmt.Sprintf("host %d exited", host)
				return
			}
		}
	}()
	return nil
}

var ladderSignals = map[ladderStep]unix.Signal{stepTerm: unix.SIGTERM, stepCont: unix.SIGCONT, stepStop: unix.SIGSTOP, stepKill: unix.SIGKILL}

func rowPids(rows []procRow) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.pid
	}
	return out
}
