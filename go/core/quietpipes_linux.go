package core

// Quiet fds: a goroutine is started only once its fd has something to say. Most
// children of a long-running host (language servers, tool servers, sleeps) write
// nothing for long spells and run for long, and a goroutine parked on a quiet fd
// costs a stack (measured: 1000 children with stdout and stderr piped held three
// goroutines each, 8.3 KB of Go stacks per child: two readers on empty pipes and
// the wait for the leader's pidfd). Until it is ready, such an fd waits in one
// epoll set shared by the whole host, watched by one goroutine through Go's own
// poller (no thread of its own).
//
// An output pipe leaves the set for a reader of its own (outStream.wake) when it is
// readable or hung up, when its drain starts (the leader ended: the drain bounds
// are the reader's to keep), or when the set cannot be used (then it reads at once,
// as without the set). Once started, a reader stays: a stream that streamed once is
// likely to again, and handing a pipe back and forth would cost a wakeup more per
// burst. A leader's pidfd (without the helper) leaves it when the leader ends: its
// supervise starts then, and finds the exit at once. (With the helper, the exit is
// the helper's message, and its arrival starts supervise: helperConn.onExit.)

import (
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type quietSet struct {
	once   sync.Once
	epfd   int
	mu     sync.Mutex
	ok     bool             // the set works; false before init and after a failure
	wakers map[int32]func() // by fd: what to start when the fd is ready
}

var quiet quietSet

// startReader puts the stream in the quiet set, or starts its reader now (a
// terminal, whose pipe ends are few and whose EIO is its EOF, always reads).
func (s *outStream) startReader() {
	if s.tty || !quiet.watch(s.f, s.wake) {
		s.wake()
	}
}

// unwatchQuiet takes f out of the quiet set (a no-op if it is not in).
func unwatchQuiet(f *os.File) { quiet.unwatch(f) }

// startSupervise starts the child's supervise once its leader has ended: at the
// helper's exit message (or its death), or when the leader's pidfd says so (no
// helper), or at once on a kernel without pidfds.
func (c *Child) startSupervise() {
	if p := c.p; p.helper != nil {
		p.helper.onExit(p.hid, p.exit, func() { go c.supervise() })
		return
	}
	pidf := c.p.pidf
	if pidf == nil {
		go c.supervise()
		return
	}
	var once startOnce
	wake := func() { once.start(pidf, c.supervise) } // supervise's reap closes pidf
	if !quiet.watch(pidf, wake) {
		wake()
	}
}

// prepareQuietSet opens the set now, if it is not open yet.
func prepareQuietSet() { quiet.once.Do(quiet.init) }

func (q *quietSet) init() {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return
	}
	f := os.NewFile(uintptr(fd), "pawwork-supervisor quiet pipes") // pollable: non-blocking
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return
	}
	q.epfd = fd
	q.wakers = map[int32]func(){}
	q.ok = true
	go q.loop(f, rc)
}

// fdOf is the stream's pipe fd, read without os.File.Fd (which would make the pipe
// blocking and take it off Go's poller).
func fdOf(f *os.File) (int, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(u uintptr) { fd = int(u) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// watch adds f to the set, wake to be called once it is ready; false if it cannot
// (the caller then starts at once). f stays open until it has been taken out
// (unwatch).
func (q *quietSet) watch(f *os.File, wake func()) bool {
	prepareQuietSet()
	fd, ok := fdOf(f)
	if !ok {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.ok {
		return false
	}
	q.wakers[int32(fd)] = wake // before the add: its event may come at once
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	if err := unix.EpollCtl(q.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(q.wakers, int32(fd))
		return false
	}
	return true
}

// unwatch takes f out of the set (a no-op if it was never in). f is still open, so
// its fd number is not another's yet.
func (q *quietSet) unwatch(f *os.File) {
	fd, ok := fdOf(f)
	if !ok {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, in := q.wakers[int32(fd)]; !in {
		return
	}
	delete(q.wakers, int32(fd))
	unix.EpollCtl(q.epfd, unix.EPOLL_CTL_DEL, fd, nil) // a fired one-shot is still in the set
}

// loop waits on the set through Go's poller and calls the waker of each fd that
// became ready (readable, hung up, or a pidfd whose process ended). If the set
// fails, every waker in it is called and later fds are not put in.
func (q *quietSet) loop(f *os.File, rc syscall.RawConn) {
	defer f.Close()
	evs := make([]unix.EpollEvent, 128)
	for {
		n := 0
		var werr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				m, e := unix.EpollWait(int(fd), evs, 0)
				if e == unix.EINTR {
					continue
				}
				n, werr = m, e
				return e != nil || m > 0 // nothing ready: wait for the poller
			}
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			q.fail()
			return
		}
		for _, ev := range evs[:n] {
			q.fire(ev.Fd)
		}
	}
}

// fire calls the waker of fd, if it is still in the set (an event read in the
// same batch as its owner's own wake, and its fd re-used since, at worst starts a
// newer owner's goroutine early: harmless).
func (q *quietSet) fire(fd int32) {
	q.mu.Lock()
	wake := q.wakers[fd]
	q.mu.Unlock()
	if wake != nil {
		wake()
	}
}

func (q *quietSet) fail() {
	q.mu.Lock()
	q.ok = false
	waiting := q.wakers
	q.wakers = map[int32]func(){}
	q.mu.Unlock()
	for _, wake := range waiting {
		wake()
	}
}

// awaitEndsMax caps the pidfds one awaitEnds holds: a tree larger than that waits
// for its first members (the rest are found by the next look).
const awaitEndsMax = 256

// awaitEnds waits until every process of pids has ended or d has passed: a wait on
// their pidfds in the quiet set instead of a blind sleep, so that a tree whose
// last members are dying is seen gone when they end, not at the next poll (the
// poll's back-off made a 101-process tree's SIGTERM take twice child_process's
// time). A pid that is gone already, or that cannot be pinned (no pidfds, no fd
// to spare), is not waited for; without the set, it sleeps d.
func awaitEnds(pids []int, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	ended := make(chan struct{}, min(len(pids), awaitEndsMax))
	var held []*os.File
	defer func() {
		for _, f := range held {
			quiet.unwatch(f)
			f.Close()
		}
	}()
	for _, pid := range pids {
		if len(held) == awaitEndsMax {
			break
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		f := os.NewFile(uintptr(fd), "pidfd")
		if !quiet.watch(f, func() { ended <- struct{}{} }) {
			f.Close()
			<-timer.C
			return
		}
		held = append(held, f)
	}
	for range held {
		select {
		case <-ended:
		case <-timer.C:
			return
		}
	}
}
