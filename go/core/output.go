package core

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the largest pipe read: a fast producer's grown pipe (growPipe) is
// emptied in one read; Next splits and merges chunks into the host's batches.
const chunkSize = 256 << 10

// Stream is which output a piped stream is; its value is the number of the
// stream's output event (EvStdout or EvStderr), and the stream's end event
// follows at a fixed step (see abi.go).
type Stream uint32

// The streams (PWS_STREAM_*).
const (
	StreamStdout Stream = EvStdout
	StreamStderr Stream = EvStderr
)

func (s Stream) String() string {
	if s == StreamStdout {
		return "stdout"
	}
	return "stderr"
}

// outputEvent and endEvent are the event types of the stream's chunks and its end.
func (s Stream) outputEvent() uint32 { return uint32(s) }
func (s Stream) endEvent() uint32    { return uint32(s) + (EvStdoutEnd - EvStdout) }

// childStdout gives the leader's fd 1: the null device, the host's own stdout, or
// the write end of a pipe that an outStream reads.
func (c *Child) childStdout(s *stdio) (*os.File, error) {
	return c.childOutput(s, c.opts.Stdout, StreamStdout)
}

// childStderr gives the leader's fd 2; "stdout" merges it into fd 1 (one pipe, in
// write order), which Options.validate allows only when stdout is a pipe.
func (c *Child) childStderr(s *stdio, stdout *os.File) (*os.File, error) {
	if c.opts.Stderr == StdioStdout {
		return stdout, nil
	}
	return c.childOutput(s, c.opts.Stderr, StreamStderr)
}

func (c *Child) childOutput(s *stdio, mode string, which Stream) (*os.File, error) {
	if n, ok := stdioFd(mode); ok {
		return s.hostFd(n, which.String())
	}
	switch mode {
	case StdioInherit:
		if which == StreamStdout {
			return os.Stdout, nil
		}
		return os.Stderr, nil
	case StdioPipe, StdioSocket:
		open := s.pipe
		if mode == StdioSocket {
			open = s.socket
		}
		w, r, err := open(true)
		if err != nil {
			return nil, err
		}
		c.outs = append(c.outs, &outStream{c: c, stream: which, f: r, done: make(chan struct{})})
		return w, nil
	}
	return s.devNull(true)
}

// outStream reads one output pipe and emits its chunks in order.
//
// While the leader runs, a pause by the host stops the reads (backpressure: the
// leader blocks on a full pipe). Once the drain has started (the leader is reaped and
// a cancelled tree is gone) a pause no longer holds anything: what is in the pipe is
// taken at once into the host's buffer (bounded by the pipe's size), and if a writer
// outside the tree still holds the pipe, the drain bounds run whether the host reads
// or not. A bound never waits on the consumer.
type outStream struct {
	c      *Child
	stream Stream
	f      *os.File
	tty    bool // f is a pseudo-terminal's master: EIO (every slave closed) is its EOF
	bytes  atomic.Int64
	done   chan struct{}
	begun  startOnce // the reader was started (wake)

	mu          sync.Mutex
	cond        *sync.Cond
	paused      bool
	swept       bool // a paused drain already took what the pipe held
	draining    bool
	idle        time.Duration
	maxDeadline time.Time
	truncated   bool // only read after done is closed
}

// readStep is what the reader does next (beforeRead's answer).
type readStep int

const (
	stepRead    readStep = iota // read, waiting for data (with the drain's deadline if draining)
	stepSweep                   // paused while draining: take what is in the pipe without waiting
	stepExpired                 // paused while draining and a drain bound passed
)

// setPaused pauses or resumes the stream. A pause takes effect after the read under
// way; during the drain it changes nothing but the sweep (see outStream).
func (s *outStream) setPaused(p bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == s.paused {
		return
	}
	s.paused = p
	if !p {
		s.swept = false
		s.broadcastLocked()
	}
}

func (s *outStream) broadcastLocked() {
	if s.cond != nil {
		s.cond.Broadcast()
	}
}

// startDrain arms the drain bounds: from now on each read waits at most idle for
// data, and the stream is cut at the latest max from now, paused or not. A reader
// waiting on a pause is woken to sweep the pipe.
func (s *outStream) startDrain(idle, max time.Duration) {
	s.mu.Lock()
	s.draining = true
	s.idle = idle
	s.maxDeadline = time.Now().Add(max)
	s.f.SetReadDeadline(s.deadlineLocked())
	s.broadcastLocked()
	s.mu.Unlock()
	s.wake() // a quiet pipe's reader starts now, to keep the bounds
}

// wake starts the stream's reader, once: from startReader, when its quiet pipe
// became readable, or when its drain starts.
func (s *outStream) wake() { s.begun.start(s.f, s.read) } // read closes s.f

// startOnce starts a goroutine once, for an fd that may wait in the quiet set
// (quietpipes_linux.go) until then: the first of its wakers wins (the fd ready, a
// drain that starts, a set that failed).
type startOnce struct{ begun atomic.Bool }

// start takes f out of the quiet set (f is still open: run is what closes it, so
// its number is no one else's yet) and runs run in a goroutine of its own, the
// first time only.
func (o *startOnce) start(f *os.File, run func()) {
	if o.begun.CompareAndSwap(false, true) {
		unwatchQuiet(f)
		go run()
	}
}

func (s *outStream) deadlineLocked() time.Time {
	d := time.Now().Add(s.idle)
	if d.After(s.maxDeadline) {
		d = s.maxDeadline
	}
	return d
}

// waitLocked waits on the stream's condition until woken or, if until is set, until
// then (s.mu held).
func (s *outStream) waitLocked(until time.Time) {
	if s.cond == nil {
		s.cond = sync.NewCond(&s.mu)
	}
	if until.IsZero() {
		s.cond.Wait()
		return
	}
	t := time.AfterFunc(time.Until(until), func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	s.cond.Wait()
	t.Stop()
}

// beforeRead waits while the host has paused the stream before the drain, and says
// what the reader does next.
func (s *outStream) beforeRead() readStep {
	s.mu.Lock()
	defer s.mu.Unlock()
	var idleAt time.Time
	for s.paused {
		if !s.draining {
			s.waitLocked(time.Time{})
			continue
		}
		if !s.swept {
			s.swept = true
			return stepSweep
		}
		if idleAt.IsZero() {
			idleAt = s.deadlineLocked()
		}
		if !time.Now().Before(idleAt) {
			return stepExpired
		}
		s.waitLocked(idleAt)
	}
	if s.draining {
		s.f.SetReadDeadline(s.deadlineLocked())
	}
	return stepRead
}

// sweepMax bounds what one sweep takes from the pipe without waiting: more than a
// grown pipe holds (so a pipe whose writers are all gone is emptied to its EOF in
// one sweep), and a holder that keeps writing cannot make a sweep endless.
const sweepMax = pipeMax + chunkSize

// deliver hands the first n bytes of the pooled buffer chunk over with the event
// (no copy; Next recycles it), or recycles it at once when n is 0.
func (s *outStream) deliver(chunk *[]byte, n int) {
	if n <= 0 {
		chunkPool.Put(chunk)
		return
	}
	s.bytes.Add(int64(n))
	s.c.emit(Event{Type: s.stream.outputEvent(), Payload: (*chunk)[:n], chunk: chunk})
}

// sweep takes what is already in the pipe without waiting: it was written before
// the bound fired (with drainIdleMs 0, or after a resume, the deadline can pass
// before the next read even starts), or, in a paused drain, before the tree ended.
// It reports whether the stream reached EOF.
func (s *outStream) sweep() bool {
	for total := 0; total < sweepMax; {
		chunk := chunkPool.Get().(*[]byte)
		n, eof, err := readNow(s.f, *chunk)
		s.deliver(chunk, n)
		if n > 0 {
			total += n
			continue
		}
		return (eof && err == nil) || s.ttyEOF(err)
	}
	return false
}

// Coalescing: a fast writer's small writes each wake a reader that is waiting (the
// kernel wakes a pipe's reader on a write to an empty pipe), and each read then costs
// an event, a hand-off to the pump and one to JS: measured, head's 4 KiB writes made
// about 140K context switches per GiB where child_process, whose JS thread reads only
// between callbacks, made 3K. So while a stream is streaming (this read came less
// than coalesceHot after the previous one) a read that emptied the pipe (it did not
// fill the buffer) is followed by a wait of coalesceWait before the next read, and
// what the writer adds meanwhile is taken by one read (reading at once would take a
// crumb, and cost as much). Only a pipe grown to pipeGrown (1 MiB) coalesces: it
// outlasts the wait at over 1 GB/s, so the writer is not held back, where a smaller
// buffer (a terminal's, a socket's, a pipe the kernel would not grow, macOS's 64 KiB)
// would fill during the wait and throttle it. Output after a quiet spell is not
// delayed at all; output while streaming by at most coalesceWait (Go's timers make
// it up to ~1 ms).
const (
	growStreak   = 4 * pipeDefault
	coalesceHot  = 2 * time.Millisecond
	coalesceWait = 500 * time.Microsecond
)

// coalesce waits coalesceWait before the next read, unless the drain has started
// (its bounds are not to be spent waiting).
func (s *outStream) coalesce() {
	s.mu.Lock()
	draining := s.draining
	s.mu.Unlock()
	if !draining {
		time.Sleep(coalesceWait)
	}
}

// cut ends the stream because a drain bound fired before EOF.
func (s *outStream) cut() {
	s.mu.Lock()
	bound := "drainIdleMs"
	if !time.Now().Before(s.maxDeadline) {
		bound = "drainMaxMs"
	}
	s.truncated = true
	s.mu.Unlock()
	s.c.noteError("%s: %s bound fired before EOF; a process outside the tree still holds the pipe", s.stream, bound)
}

func (s *outStream) read() {
	defer close(s.done)
	grown := false
	wide := false      // grown to pipeGrown: the stream may coalesce
	var last time.Time // when the previous read returned
	streak := 0        // bytes of the reads that came close together (coalesceHot)
loop:
	for {
		switch s.beforeRead() {
		case stepSweep:
			if s.sweep() {
				break loop
			}
			continue
		case stepExpired:
			if !s.sweep() {
				s.cut()
			}
			break loop
		}
		chunk, n, err := readChunk(s.f)
		at := time.Now()
		hot := at.Sub(last) < coalesceHot
		if hot {
			streak += n
		} else {
			streak = n
		}
		if !grown && (n >= pipeDefault || streak >= growStreak) {
			// A full default pipe, or a run of reads close together that took
			// growStreak bytes (a reader as fast as its writer never finds the pipe
			// full): a fast producer. A larger pipe lets it write more per wakeup of
			// ours; others keep the default (the kernel limits a user's pipe memory
			// in total).
			wide = growPipe(s.f)
			grown = true
		}
		if chunk != nil {
			s.deliver(chunk, n)
		}
		if err == nil {
			if wide && n < chunkSize && hot {
				s.coalesce()
			}
			last = at
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if !s.sweep() {
				s.cut() // everything that was there is delivered; the holder is not done
			}
		} else if err != io.EOF && !s.ttyEOF(err) {
			s.c.noteError("%s: read: %v", s.stream, err)
			s.mu.Lock()
			s.truncated = true
			s.mu.Unlock()
		}
		break
	}
	s.f.Close()
	s.c.emit(Event{Type: s.stream.endEvent()})
}
