package core

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pawwork/pawwork-supervisor/go/internal/batchq"
)

var lastHandle atomic.Int64

// Child is the handle on one leader we started and its tree (the leader and every
// process containment attributes to it).
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
	term  *terminal    // the pseudo-terminal of a terminal session (Options.Terminal); nil if none

	mu         sync.Mutex
	reason     string        // first cancellation's reason; "" while none
	exited     bool          // the leader has exited
	holding    bool          // HoldLeftovers: the leader exited by itself and the tree is still ours until it is empty
	forgotten  atomic.Bool   // the host forgot the handle: emit nothing more
	ladderDone chan struct{} // closed when a running ladder finished; nil if none
	leaderEnd  chan struct{} // closed once the leader's exit is known (supervise's wait returned)
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

	c = &Child{id: lastHandle.Add(1), hub: hub, opts: o, done: make(chan struct{}), leaderEnd: make(chan struct{})}

	// Every fd made here is closed on the way out if the start fails halfway; the
	// leader's ends are closed in the parent once the leader holds them.
	var fds stdio
	started := false
	defer func() { fds.closeAfterStart(started) }()
	files := make([]*os.File, 3)
	if o.Terminal != nil {
		if files, err = c.childTerminal(&fds); err != nil {
			return nil, err
		}
	} else {
		if files[0], err = c.childStdin(&fds); err != nil {
			return nil, err
		}
		if files[1], err = c.childStdout(&fds); err != nil {
			return nil, err
		}
		if files[2], err = c.childStderr(&fds, files[1]); err != nil {
			return nil, err
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
	c.opts = o.afterStart()
	hub.add(c)

	for _, s := range c.outs {
		s.startReader()
	}
	if t := msOr(o.TimeoutMs, 0); t > 0 {
		c.timer = time.AfterFunc(t, func() { c.Cancel(ReasonTimeout, 0, -1) })
	}
	c.startSupervise()
	return c, nil
}

// stdio is the set-up of the leader's standard fds, in the manner of os/exec:
// childStdin, childStdout and childStderr each give the file the leader gets as
// its fd 0, 1 or 2 and note here what to close after the start.
type stdio struct {
	leaderEnds []*os.File // closed in the parent once the leader holds them, or the start failed
	ourEnds    []*os.File // the child's ends of its pipes: closed only if the start failed
	closers    []func()   // more to undo only if the start failed (Windows: a pseudo console)
}

// devNull gives the leader the null device: the host's shared one (Linux), or one
// opened now for reading (stdin) or writing.
func (s *stdio) devNull(write bool) (*os.File, error) {
	if f := nullForLeader(); f != nil {
		return f, nil // shared: never closed
	}
	flag := os.O_RDONLY
	if write {
		flag = os.O_WRONLY
	}
	f, err := os.OpenFile(os.DevNull, flag, 0)
	if err != nil {
		return nil, &Error{Code: "EIO", Syscall: "open", Path: os.DevNull, Msg: err.Error(), Err: err}
	}
	s.leaderEnds = append(s.leaderEnds, f)
	return f, nil
}

// pipe makes one stdio pipe; ourEndReads says which end the child keeps (the read
// end for an output stream, the write end for stdin).
func (s *stdio) pipe(ourEndReads bool) (leaderEnd, ourEnd *os.File, err error) {
	return s.pipeOf(ourEndReads, newPipe)
}

// socket is pipe over a socketpair (the "socket" stdio mode).
func (s *stdio) socket(ourEndReads bool) (leaderEnd, ourEnd *os.File, err error) {
	return s.pipeOf(ourEndReads, newSocketPair)
}

func (s *stdio) pipeOf(ourEndReads bool, newPipe func(bool) (*os.File, *os.File, error)) (leaderEnd, ourEnd *os.File, err error) {
	r, w, err := newPipe(ourEndReads)
	if err != nil {
		return nil, nil, &Error{Code: "EMFILE", Syscall: "pipe", Msg: err.Error(), Err: err}
	}
	if ourEndReads {
		leaderEnd, ourEnd = w, r
	} else {
		leaderEnd, ourEnd = r, w
	}
	s.leaderEnds = append(s.leaderEnds, leaderEnd)
	s.ourEnds = append(s.ourEnds, ourEnd)
	return leaderEnd, ourEnd, nil
}

// closeAfterStart closes the leader's ends, and ours too when the start failed.
func (s *stdio) closeAfterStart(started bool) {
	for _, f := range s.leaderEnds {
		f.Close()
	}
	if !started {
		for _, f := range s.ourEnds {
			f.Close()
		}
		for _, f := range s.closers {
			f()
		}
	}
}

// ID is the child's handle, unique within the process.
func (c *Child) ID() int64 { return c.id }

// Pid is the leader's process id.
func (c *Child) Pid() int { return c.p.pid }

// Done is closed once the EXIT event was queued.
func (c *Child) Done() <-chan struct{} { return c.done }

func (c *Child) emit(ev Event) {
	if c.forgotten.Load() {
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
	if c.reason != "" || (c.exited && !c.holding) {
		c.mu.Unlock()
		return
	}
	c.reason = reason
	c.ladderDone = make(chan struct{})
	done := c.ladderDone
	c.mu.Unlock()
	busyBegin() // until the ladder ends (runMemberSteps)
	firstSteps.Add(&firstStep{c: c, sig: sig, grace: grace, done: done}, runFirstSteps)
}

// firstSteps runs the first step of the cancels' ladders (the signals to their
// trees) in batches, on one goroutine: every cancel queued is signalled at its group
// (one kill each, as child_process would). memberSteps then finds each tree's other
// members and signals them (with, where that takes a view of the landing points, one
// view for the batch), on a goroutine of its own, so that the next cancels' group
// signals never wait behind a walk. The rest of each ladder waits (for the leader's
// end, the grace) in a goroutine of its own that sleeps until then. A thousand
// cancels at once were a thousand goroutines reading /proc and signalling at once,
// with every call of the host into the core (the next cancel among them: each needs
// one of the runtime's few Ps) queued behind them: the host's loop of cancels took a
// second.
var firstSteps, memberSteps batchq.Queue[*firstStep]

type firstStep struct {
	c     *Child
	sig   int
	grace time.Duration
	done  chan struct{}
	at    time.Time // when its group was signalled: the ladder's phases count from then
}

// runFirstSteps signals one batch's groups and queues the batch for memberSteps.
func runFirstSteps(batch []*firstStep) {
	at := time.Now()
	for _, s := range batch {
		s.at = at
		s.c.p.signalGroup(s.sig)
	}
	memberSteps.AddAll(batch, runMemberSteps)
}

// runMemberSteps signals one batch's other members, each ladder going on in a
// goroutine of its own once its tree was signalled.
func runMemberSteps(batch []*firstStep) {
	signalMembersBatch(batch, func(s *firstStep) {
		go func() {
			defer close(s.done)
			defer busyEnd()
			s.c.ladderFrom(s.at, s.sig, s.grace)
		}()
	})
}

// Signal sends sig once to the leader, or to every member with tree set. Signalling
// a child whose leader has already exited does nothing: what it left behind is
// reported in the outcome and no longer ours (and, once the leader is reaped, its
// ids may be re-used).
func (c *Child) Signal(sig int, tree bool) error {
	c.mu.Lock()
	exited, holding := c.exited, c.holding
	c.mu.Unlock()
	if exited && !(holding && tree) {
		return nil
	}
	if tree {
		c.p.signalTree(sig)
		return nil
	}
	return c.p.signalLeader(sig)
}

// Forget drops the handle: nothing more is emitted, and a running tree is killed.
func (c *Child) Forget() {
	c.killTree()
	c.forgotten.Store(true)
}

// killTree kills the tree for a host that will read no more: a stream the host
// paused is resumed, or its reader would wait forever and EXIT never come.
func (c *Child) killTree() {
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
	// A conversation with the child (a language server's requests and answers):
	// every P for it, as for slow work (procs_linux.go), so that the answer's
	// hand-offs do not queue for one P.
	busyBegin()
	defer busyEnd()
	return c.stdin.write(data, seq)
}

// CloseStdin closes stdin after the writes already queued.
func (c *Child) CloseStdin() {
	if c.stdin != nil {
		c.stdin.close()
	}
}

// SetFlow pauses or resumes reading one output stream.
func (c *Child) SetFlow(stream Stream, paused bool) error {
	for _, s := range c.outs {
		if s.stream == stream {
			s.setPaused(paused)
			return nil
		}
	}
	return usage("%s is not a pipe", stream)
}

// ladder applies the graceful → forceful sequence to the whole tree.
func (c *Child) ladder(sig int, grace time.Duration) {
	t0 := time.Now()
	c.p.signalTree(sig)
	c.ladderFrom(t0, sig, grace)
}

// ladderFrom is the ladder after its first signal (sent at t0).
func (c *Child) ladderFrom(t0 time.Time, sig int, grace time.Duration) {
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
		left := c.remaining()
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

// waitEmpty waits until the tree is gone or d has passed. While the leader runs the
// tree is not empty, and its end is an event (the helper's exit message, or the
// pidfd): that wait costs no look at /proc and no timer per poll, so a thousand
// trees cancelled at once cost one check each once their leader ended, not a
// thousand polls each while the kernel tears them down. Then gone takes two
// consecutive checks that find nothing left (remaining): one walk can miss a
// member that forked and exited between its listing and its reads. Between looks it
// waits for the members the last look found to end (awaitEnds: their exits are
// events too, on Linux), at most a pause that doubles up to 20 ms. A zombie counts
// as gone: the reap that follows the ladder (reap) reaps, through the helper, every
// zombie the tree left under it before it answers, so the outcome still settles
// only once they are reaped (pid 1 here reaps orphans slowly; those are not ours).
func (c *Child) waitEmpty(d time.Duration) bool {
	deadline := time.Now().Add(d)
	if !c.waitLeaderEnd(deadline) {
		return false
	}
	pause := time.Millisecond
	emptyChecks := 0
	for {
		left := c.remaining()
		if len(left) == 0 {
			if emptyChecks++; emptyChecks == 2 {
				return true
			}
			time.Sleep(time.Millisecond)
			continue // the second check is made even when d has passed
		}
		emptyChecks = 0
		now := time.Now()
		if !now.Before(deadline) {
			return false
		}
		if rest := deadline.Sub(now); pause > rest {
			pause = rest
		}
		awaitEnds(left, pause) // until they all ended, at most pause: then look again
		if pause < 20*time.Millisecond {
			pause *= 2
		}
	}
}

// waitLeaderEnd waits until the leader's exit is known or deadline has passed; false
// if the deadline came first.
func (c *Child) waitLeaderEnd(deadline time.Time) bool {
	select {
	case <-c.leaderEnd:
		return true
	default:
	}
	rest := time.Until(deadline)
	if rest <= 0 {
		return false
	}
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-c.leaderEnd:
		return true
	case <-t.C:
		return false
	}
}

// remaining lists what keeps the tree from being gone: one look at it per call (the
// platform's, where it has more to say than its live members).
func (c *Child) remaining() []int {
	if r, ok := any(c.p).(interface{ remaining() []int }); ok {
		return r.remaining()
	}
	return c.p.members()
}

// supervise waits for the leader, settles the tree, drains, and emits EXIT.
func (c *Child) supervise() {
	st, werr := c.p.wait()
	close(c.leaderEnd)
	exitAt := time.Now()
	busyBegin() // the settling, up to EXIT: every P (procs_linux.go)
	defer busyEnd()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Lock()
	c.exited = true
	reason := c.reason
	ladderDone := c.ladderDone
	// HoldLeftovers: a natural exit keeps the tree ours (not let go, the leader not reaped so
	// its group cannot be re-used) until it is empty or a cancel's ladder emptied it.
	holding := reason == "" && c.opts.HoldLeftovers
	c.holding = holding
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
			} else if !holding {
				c.p.letGo(rest)
			}
		}
	} else if ladderDone != nil {
		<-ladderDone // bounded: grace + confirmBound
	}
	// The group is signalled only while its leader is unreaped, so the group id
	// cannot have been re-used by then.
	if !holding {
		c.p.reap()
		c.takeProcNotes()
	}

	if c.term != nil {
		c.term.leaderExited() // Windows: ConPTY's output ends only when its console is closed
	}
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
		if s.stream == StreamStdout {
			out.StdoutBytes = s.bytes.Load()
		} else {
			out.StderrBytes = s.bytes.Load()
		}
	}
	if c.stdin != nil {
		c.stdin.abort()
		<-c.stdin.done
	}
	if c.term != nil {
		c.term.close()
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

	if holding {
		// The close: the leader exited and its streams ended; the tree is still ours.
		c.emit(Event{Type: EvClose, Payload: mustJSON(out)})
		c.holdUntilEmpty()
		c.p.reap()
		c.takeProcNotes()
		c.mu.Lock()
		c.holding = false
		if c.reason != "" {
			out.Reason = c.reason
		}
		out.Phases = c.phases
		out.Errors = append([]string{}, c.errs...)
		out.Leftovers = append([]int{}, c.leftovers...)
		c.mu.Unlock()
		out.DurationMs = ms(time.Since(c.start))
	}

	c.hub.remove(c)
	c.emit(Event{Type: EvExit, Payload: mustJSON(out)})
	close(c.done)
}

// holdUntilEmpty waits, after the close of a HoldLeftovers child, until its tree is empty:
// by itself (polled) or by a cancel's ladder (then bounded by grace + confirmBound).
func (c *Child) holdUntilEmpty() {
	for {
		c.mu.Lock()
		ld := c.ladderDone
		c.mu.Unlock()
		if ld != nil {
			<-ld
			return
		}
		if c.waitEmpty(100 * time.Millisecond) {
			c.mu.Lock()
			// A cancel from now on finds the tree gone: refused. One that came in since
			// the check above is waited for: the leader is reaped only after its ladder.
			c.holding = false
			ld = c.ladderDone
			c.mu.Unlock()
			if ld != nil {
				<-ld
			}
			return
		}
	}
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
