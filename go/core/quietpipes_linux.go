package core

// Quiet pipes: a stream's reader goroutine is started only once its pipe has
// something to say. Most children of a long-running host (language servers, tool
// servers, sleeps) write nothing for long spells, and a reader parked on a quiet
// pipe costs a goroutine stack (measured: 1000 children with stdout and stderr
// piped held 8.3 KB of Go stacks each, three goroutines per child). Until its first
// readiness a pipe waits in one epoll set shared by every stream of the host,
// watched by one goroutine through Go's own poller (no thread of its own).
//
// A stream leaves the set for a reader of its own (wake) when its pipe is readable
// or hung up, when its drain starts (the leader ended: the drain bounds are the
// reader's to keep), or when the set cannot be used (then every stream reads at
// once, as without it). Once started, a reader stays: a stream that streamed once
// is likely to again, and handing a pipe back and forth would cost a wakeup more
// per burst.

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

type quietSet struct {
	once    sync.Once
	epfd    int
	mu      sync.Mutex
	ok      bool                 // the set works; false before init and after a failure
	streams map[int32]*outStream // by fd: the streams waiting in the set
}

var quiet quietSet

// startReader puts the stream in the quiet set, or starts its reader now (a
// terminal, whose pipe ends are few and whose EIO is its EOF, always reads).
func (s *outStream) startReader() {
	if s.tty || !quiet.watch(s) {
		s.wake()
	}
}

// unwatch takes s out of the quiet set (its fd still open: wake runs before the
// reader that will close it).
func (s *outStream) unwatch() { quiet.unwatch(s) }

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
	q.streams = map[int32]*outStream{}
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

// watch adds s to the set; false if it cannot (s must then read at once).
func (q *quietSet) watch(s *outStream) bool {
	prepareQuietSet()
	fd, ok := fdOf(s.f)
	if !ok {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.ok {
		return false
	}
	q.streams[int32(fd)] = s // before the add: its event may come at once
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
	if err := unix.EpollCtl(q.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		delete(q.streams, int32(fd))
		return false
	}
	return true
}

func (q *quietSet) unwatch(s *outStream) {
	fd, ok := fdOf(s.f)
	if !ok {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.streams[int32(fd)] != s {
		return // never watched, or already taken out by its event
	}
	delete(q.streams, int32(fd))
	unix.EpollCtl(q.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// loop waits on the set through Go's poller and wakes each stream whose pipe
// became readable or hung up. If the set fails, every stream in it is woken and
// later streams read at once.
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

// fire wakes the stream of fd, if it still waits in the set (an event read in the
// same batch as its stream's own wake, and its fd re-used since, at worst starts a
// newer stream's reader early: harmless).
func (q *quietSet) fire(fd int32) {
	q.mu.Lock()
	s := q.streams[fd]
	q.mu.Unlock()
	if s != nil {
		s.wake()
	}
}

func (q *quietSet) fail() {
	q.mu.Lock()
	q.ok = false
	waiting := q.streams
	q.streams = map[int32]*outStream{}
	q.mu.Unlock()
	for _, s := range waiting {
		s.wake()
	}
}
