package core

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// chunkSize is the largest pipe read: a fast producer's grown pipe (growPipe) is
// emptied in one read; Next splits and merges chunks into the host's batches.
const chunkSize = 256 << 10

var lastHandle atomic.Int64

// Child is one supervised child and, through its process group and session, its tree.
//
// Lifecycle: starting → running → (cancelling) → reaped → draining → done. The EXIT
// event is queued only after the leader was reaped, every tree member that a cancel
// or KillTreeOnExit targeted is gone, and both output streams ended (EOF or a drain
// bound); it is the last event of the child.
type Child struct {
	id    int64
	hub   *Hub
	opts  *Options
	p     *proc
	start time.Time

	stdin *stdinPipe
	outs  []*outStream // the piped output streams (0, 1 or 2)

	mu         sync.Mutex
	reason     string        // first cancellation's reason; "" while none
	exited     bool          // the leader has exited
	released   atomic.Bool   // the host forgot the handle: emit nothing more
	ladderDone chan struct{} // closed when a running ladder finished; nil if none
	timer      *time.Timer
	phases     Phases
	errs       []string
	leftovers  []int

	done chan struct{} // closed after EXIT was queued (or dropped)
}

// Start spawns a child on hub. On error nothing is left running and no event is
// queued; the error is an *Error with a Node-style code.
func Start(hub *Hub, o *Options) (c *Child, err error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	env := os.Environ()
	if o.Env != nil {
		env = *o.Env
	}
	if err := checkDir(o.Cwd); err != nil {
		return nil, err
	}
	path, err := lookPath(o.Argv[0], o.Cwd, env)
	if err != nil {
		return nil, err
	}

	c = &Child{id: lastHandle.Add(1), hub: hub, opts: o, done: make(chan struct{})}

	// Every fd made here is closed on the way out if the start fails halfway; the
	// child's ends are closed in the parent once the child holds them.
	var childEnds, parentEnds []*os.File
	started := false
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
		if !started {
			for _, f := range parentEnds {
				f.Close()
			}
		}
	}()
	files := make([]*os.File, 3)
	var stdoutW *os.File
	for i, mode := range []string{o.Stdin, o.Stdout, o.Stderr} {
		switch mode {
		case "", StdioIgnore:
			flag := os.O_RDONLY
			if i > 0 {
				flag = os.O_WRONLY
			}
			f, err := os.OpenFile(os.DevNull, flag, 0)
			if err != nil {
				return nil, &Error{Code: "EIO", Syscall: "open", Path: os.DevNull, Msg: err.Error(), Err: err}
			}
			childEnds = append(childEnds, f)
			files[i] = f
		case StdioInherit:
			files[i] = []*os.File{os.Stdin, os.Stdout, os.Stderr}[i]
		case StdioStdout:
			files[i] = stdoutW
		case StdioPipe:
			r, w, err := newPipe(i != 0)
			if err != nil {
				return nil, &Error{Code: "EMFILE", Syscall: "pipe", Msg: err.Error(), Err: err}
			}
			if i == 0 {
				childEnds, parentEnds = append(childEnds, r), append(parentEnds, w)
				files[i] = r
				c.stdin = newStdinPipe(c, w)
			} else {
				childEnds, parentEnds = append(childEnds, w), append(parentEnds, r)
				files[i] = w
				kind := uint32(EvStdout)
				if i == 2 {
					kind = EvStderr
				} else {
					stdoutW = w
				}
				c.outs = append(c.outs, &outStream{c: c, kind: kind, f: r, done: make(chan struct{})})
			}
		}
	}

	c.start = time.Now()
	c.p, err = startProc(path, o, env, files)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, spawnError(o.Argv[0], err)
	}
	started = true
	hub.add(c)

	for _, s := range c.outs {
		go s.read()
	}
	if c.stdin != nil {
		go c.stdin.run()
	}
	if t := msOr(o.TimeoutMs, 0); t > 0 {
		c.timer = time.AfterFunc(t, func() { c.Cancel(ReasonTimeout, 0, -1) })
	}
	go c.supervise()
	return c, nil
}

// ID is the child's handle, unique within the process.
func (c *Child) ID() int64 { return c.id }

// Pid is the leader's process id.
func (c *Child) Pid() int { return c.p.pid }

// Done is closed once the EXIT event was queued.
func (c *Child) Done() <-chan struct{} { return c.done }

func (c *Child) emit(ev Event) {
	if c.released.Load() {
		return
	}
	ev.Handle = c.id
	c.hub.push(ev)
}

func (c *Child) noteError(format string, args ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// Cancel starts the ladder on the whole tree: sig (0: Options.KillSignal) to every
// member, up to grace (negative: Options' grace) for the tree to be gone, then
// SIGKILL and confirm. It returns at once. A second cancel, or one after the leader
// exited, does nothing.
func (c *Child) Cancel(reason string, sig int, grace time.Duration) {
	if sig == 0 {
		sig = c.opts.killSignal()
	}
	if grace < 0 {
		grace = c.opts.grace()
	}
	c.mu.Lock()
	if c.reason != "" || c.exited {
		c.mu.Unlock()
		return
	}
	c.reason = reason
	c.ladderDone = make(chan struct{})
	done := c.ladderDone
	c.mu.Unlock()
	go func() {
		defer close(done)
		c.ladder(sig, grace)
	}()
}

// Signal sends sig once to the leader, or to every member with tree set. Signalling
// a child whose leader has already exited does nothing: what it left behind is
// reported in the outcome and no longer ours (and, once the leader is reaped, its
// ids may be re-used).
func (c *Child) Signal(sig int, tree bool) error {
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	if exited {
		return nil
	}
	if tree {
		c.p.signalTree(sig)
		return nil
	}
	return c.p.signalLeader(sig)
}

// Release forgets the child: nothing more is emitted, and a running tree is killed.
func (c *Child) Release() {
	c.abandon()
	c.released.Store(true)
}

// abandon kills the tree for a host that will read no more: a stream the host
// paused is resumed, or its reader would wait forever and EXIT never come.
func (c *Child) abandon() {
	c.Cancel(ReasonHost, sigKILL, 0)
	for _, s := range c.outs {
		s.setPaused(false)
	}
}

// Write queues data for stdin; the STDIN_ACK event with seq reports completion.
func (c *Child) Write(data []byte, seq int64) error {
	if c.stdin == nil {
		return usage("stdin is not a pipe")
	}
	return c.stdin.write(data, seq)
}

// CloseStdin closes stdin after the writes already queued.
func (c *Child) CloseStdin() {
	if c.stdin != nil {
		c.stdin.close()
	}
}

// SetFlow pauses or resumes reading stdout (EvStdout) or stderr (EvStderr).
func (c *Child) SetFlow(kind uint32, paused bool) error {
	for _, s := range c.outs {
		if s.kind == kind {
			s.setPaused(paused)
			return nil
		}
	}
	return usage("stream %d is not a pipe", kind)
}

// ladder applies the graceful → forceful sequence to the whole tree.
func (c *Child) ladder(sig int, grace time.Duration) {
	t0 := time.Now()
	c.p.signalTree(sig)
	graceful := sig != sigKILL
	empty := false
	if graceful {
		empty = c.waitEmpty(grace)
	}
	t1 := time.Now()
	killed := !empty
	if killed {
		// Stop the members first so that none forks a new one between the scan and
		// the kill, then SIGKILL until nothing is left or the confirm bound fires.
		c.p.freezeTree()
		deadline := t1.Add(confirmBound)
		for !empty && time.Now().Before(deadline) {
			c.p.signalTree(sigKILL)
			empty = c.waitEmpty(25 * time.Millisecond)
		}
	}
	t2 := time.Now()
	c.mu.Lock()
	if graceful {
		c.phases.GraceMs = ms(t1.Sub(t0))
	}
	if killed {
		c.phases.KillMs = ms(t2.Sub(t1))
	}
	c.mu.Unlock()
	c.takeProcNotes()
	if !empty {
		left := append(c.p.members(), c.unreaped()...)
		c.noteError("tree not empty %v after SIGKILL and the %v confirm bound", left, confirmBound)
		c.mu.Lock()
		c.leftovers = append(c.leftovers, left...)
		c.mu.Unlock()
	}
}

// takeProcNotes moves what the platform could not make sure of into the outcome's
// errors (Linux: a member that may have slipped through the freeze, a reap the
// helper did not confirm in time).
func (c *Child) takeProcNotes() {
	if n, ok := any(c.p).(interface{ takeNotes() []string }); ok {
		for _, s := range n.takeNotes() {
			c.noteError("%s", s)
		}
	}
}

// waitEmpty polls the tree until it is gone or d has passed. Gone takes two
// consecutive scans that find no member: one scan can miss a member that forked
// and exited between its listing of /proc and its reads. A zombie counts as gone
// unless it waits for our helper to reap it (see unreaped; pid 1 here reaps orphans
// slowly).
func (c *Child) waitEmpty(d time.Duration) bool {
	deadline := time.Now().Add(d)
	pause := time.Millisecond
	emptyScans := 0
	for {
		if len(c.p.members()) == 0 && len(c.unreaped()) == 0 {
			if emptyScans++; emptyScans == 2 {
				return true
			}
			time.Sleep(time.Millisecond)
			continue // the second scan is made even when d has passed
		}
		emptyScans = 0
		now := time.Now()
		if !now.Before(deadline) {
			return false
		}
		if rest := deadline.Sub(now); pause > rest {
			pause = rest
		}
		time.Sleep(pause)
		if pause < 20*time.Millisecond {
			pause *= 2
		}
	}
}

// unreaped lists the killed members the platform has not reaped yet (Linux with the
// helper); none elsewhere.
func (c *Child) unreaped() []int {
	if u, ok := any(c.p).(interface{ unreaped() []int }); ok {
		return u.unreaped()
	}
	return nil
}

// supervise waits for the leader, settles the tree, drains, and emits EXIT.
func (c *Child) supervise() {
	st, werr := c.p.wait()
	exitAt := time.Now()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Lock()
	c.exited = true
	reason := c.reason
	ladderDone := c.ladderDone
	c.phases.RunMs = ms(exitAt.Sub(c.start))
	c.mu.Unlock()
	if werr != nil {
		c.noteError("wait: %v", werr)
	}

	if reason == "" {
		// Natural exit: whatever the leader left behind is either killed now or
		// reported and let go.
		rest := without(c.p.members(), c.p.pid)
		if len(rest) > 0 {
			c.mu.Lock()
			c.leftovers = append(c.leftovers, rest...)
			c.mu.Unlock()
			if c.opts.KillTreeOnExit {
				c.ladder(c.opts.killSignal(), c.opts.grace())
			} else {
				c.p.release(rest)
			}
		}
	} else if ladderDone != nil {
		<-ladderDone // bounded: grace + confirmBound
	}
	// The group is signalled only while its leader is unreaped, so the group id
	// cannot have been re-used by then.
	c.p.reap()
	c.takeProcNotes()

	drainAt := time.Now()
	for _, s := range c.outs {
		s.startDrain(c.opts.drainIdle(), c.opts.drainMax())
	}
	out := Outcome{Pid: c.p.pid, Reason: ReasonExit, Containment: c.p.containment()}
	for _, s := range c.outs {
		<-s.done
		if s.truncated {
			out.Truncated = true
		}
		if s.kind == EvStdout {
			out.StdoutBytes = s.bytes.Load()
		} else {
			out.StderrBytes = s.bytes.Load()
		}
	}
	if c.stdin != nil {
		c.stdin.abort()
		<-c.stdin.done
	}
	end := time.Now()

	c.mu.Lock()
	if reason != "" {
		out.Reason = reason
	}
	c.phases.DrainMs = ms(end.Sub(drainAt))
	out.Phases = c.phases
	out.Errors = append([]string{}, c.errs...)
	out.Leftovers = append([]int{}, c.leftovers...)
	c.mu.Unlock()
	if st.signal != 0 {
		name := signalName(st.signal)
		out.Signal = &name
	} else {
		code := st.code
		out.Code = &code
	}
	out.DurationMs = ms(end.Sub(c.start))

	c.hub.remove(c)
	c.emit(Event{Type: EvExit, Payload: mustJSON(out)})
	close(c.done)
}

func without(pids []int, pid int) []int {
	out := pids[:0:0]
	for _, p := range pids {
		if p != pid {
			out = append(out, p)
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// exitStatus is how the leader ended: code when it exited, signal when killed.
type exitStatus struct {
	code   int
	signal int
}

// outStream reads one output pipe and emits its chunks in order.
//
// While the leader runs, a pause by the host stops the reads (backpressure: the
// child blocks on a full pipe). Once the drain has started (the leader is reaped and
// a cancelled tree is gone) a pause no longer holds anything: what is in the pipe is
// taken at once into the host's buffer (bounded by the pipe's size), and if a writer
// outside the tree still holds the pipe, the drain bounds run whether the host reads
// or not. A bound never waits on the consumer.
type outStream struct {
	c     *Child
	kind  uint32 // EvStdout or EvStderr
	f     *os.File
	bytes atomic.Int64
	done  chan struct{}

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
	defer s.mu.Unlock()
	s.draining = true
	s.idle = idle
	s.maxDeadline = time.Now().Add(max)
	s.f.SetReadDeadline(s.deadlineLocked())
	s.broadcastLocked()
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
	s.c.emit(Event{Type: s.kind, Payload: (*chunk)[:n], chunk: chunk})
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
		return eof && err == nil
	}
	return false
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
	s.c.noteError("%s: %s bound fired before EOF; a process outside the tree still holds the pipe", streamName(s.kind), bound)
}

func (s *outStream) read() {
	defer close(s.done)
	grown := false
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
		chunk := chunkPool.Get().(*[]byte)
		n, err := s.f.Read(*chunk)
		if !grown && n >= pipeDefault {
			// A full default pipe: a fast producer. A larger pipe lets it write
			// more per wakeup of ours; others keep the default (the kernel limits
			// a user's pipe memory in total).
			growPipe(s.f)
			grown = true
		}
		s.deliver(chunk, n)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if !s.sweep() {
				s.cut() // everything that was there is delivered; the holder is not done
			}
		} else if err != io.EOF {
			s.c.noteError("%s: read: %v", streamName(s.kind), err)
			s.mu.Lock()
			s.truncated = true
			s.mu.Unlock()
		}
		break
	}
	s.f.Close()
	s.c.emit(Event{Type: s.kind + (EvStdoutEnd - EvStdout)})
}

func streamName(kind uint32) string {
	if kind == EvStdout {
		return "stdout"
	}
	return "stderr"
}

// stdinPipe performs queued writes to the child's stdin in order.
type stdinPipe struct {
	c    *Child
	f    *os.File
	done chan struct{}
	wake chan struct{}

	mu      sync.Mutex
	queue   []stdinReq
	closing bool // close after the queue is written
	aborted bool // the child is done: fail what is left
}

type stdinReq struct {
	data []byte
	seq  int64
}

func newStdinPipe(c *Child, f *os.File) *stdinPipe {
	return &stdinPipe{c: c, f: f, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (p *stdinPipe) write(data []byte, seq int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing || p.aborted {
		return usage("stdin is closed")
	}
	p.queue = append(p.queue, stdinReq{data: data, seq: seq})
	p.poke()
	return nil
}

func (p *stdinPipe) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *stdinPipe) close() {
	p.mu.Lock()
	p.closing = true
	p.poke()
	p.mu.Unlock()
}

// abort closes the pipe at once; a write blocked on a child that never reads
// returns, and what is still queued is failed.
func (p *stdinPipe) abort() {
	p.mu.Lock()
	p.aborted = true
	p.poke()
	p.mu.Unlock()
	p.f.Close()
}

func (p *stdinPipe) run() {
	defer close(p.done)
	defer p.f.Close()
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			if p.closing || p.aborted {
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			<-p.wake
			continue
		}
		req := p.queue[0]
		p.queue = p.queue[1:]
		aborted := p.aborted
		p.mu.Unlock()
		var err error
		if aborted {
			err = os.ErrClosed
		} else {
			_, err = p.f.Write(req.data)
		}
		var payload []byte
		if err != nil {
			payload = mustJSON(writeError(err))
		}
		p.c.emit(Event{Type: EvStdinAck, Aux: req.seq, Payload: payload})
	}
}

func writeError(err error) map[string]string {
	if errors.Is(err, os.ErrClosed) {
		return map[string]string{"code": "EPIPE", "message": "pawwork-supervisor: write to stdin after the child ended"}
	}
	code, _ := errnoCode(err)
	return map[string]string{"code": code, "message": "pawwork-supervisor: write to stdin: " + err.Error()}
}
