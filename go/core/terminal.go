package core

// Terminal sessions: the leader on a pseudo-terminal (Options.Terminal), contained as
// every tree is. The host keeps the terminal's master side: the output stream reads
// it (EIO once every slave fd is closed is its EOF), Write writes to it, Resize and
// Foreground ask it. The leader gets the slave as fds 0-2 and, leading a new session,
// makes it its controlling terminal (Setsid + Setctty, in the helper or in the
// fallback's own fork). The platform part is pty_<os>.go.

import (
	"errors"
	"os"
	"sync"
	"syscall"
)

// MaxTerminalSize bounds rows and cols (the kernel's winsize fields are 16-bit).
const MaxTerminalSize = 0xffff

// TerminalSize is a terminal's size in character cells.
type TerminalSize struct {
	Rows int `json:"rows"`
	Cols int `json:"cols"`
}

func (t *TerminalSize) validate(o *Options) error {
	if t == nil {
		return nil
	}
	if err := checkSize(t.Rows, t.Cols); err != nil {
		return err
	}
	if o.Stdin != "" || o.Stdout != "" || o.Stderr != "" {
		return usage("terminal: stdin, stdout and stderr are the terminal; leave them unset")
	}
	return nil
}

func checkSize(rows, cols int) error {
	if rows < 1 || rows > MaxTerminalSize || cols < 1 || cols > MaxTerminalSize {
		return usage("terminal size %dx%d out of range (1..%d)", rows, cols, MaxTerminalSize)
	}
	return nil
}

// Foreground is what a terminal says about its foreground process group.
type Foreground struct {
	// Pgid is the terminal's foreground process group (tcgetpgrp); 0 when it has
	// none (the session leader exited).
	Pgid int `json:"processGroupId"`
	// Members are the tree's members in that group.
	Members []int `json:"members"`
	// Waiting are the members proved blocked in a read of this terminal.
	Waiting []int `json:"waiting"`
	// InputWaiting: some member of the group is proved blocked in a read of this
	// terminal. False when it cannot be proved (see Proof).
	InputWaiting bool `json:"inputWaiting"`
	// Proof says how InputWaiting was decided: "procfs" (Linux: /proc/<pid>/syscall
	// shows a read of a fd that is this terminal, or wchan n_tty_read), or
	// "unsupported" (no platform way to prove it: always false).
	Proof string `json:"proof"`
}

// terminal is the host's side of one pseudo-terminal.
type terminal struct {
	master *os.File // read by the output stream (closed by it)
	input  *os.File // a dup of master, written by the stdin pipe (closed by it)
	ctl    *os.File // a dup of master for size and foreground queries; closed after EXIT
	name   string   // the slave's path (/dev/pts/N), as /proc/<pid>/fd shows it
	// Windows: the pseudo console (HPCON), closed once the leader exited (ConPTY
	// holds its output pipe open until then); 0 elsewhere.
	console uintptr

	mu     sync.Mutex
	closed bool
}

// childTerminal opens the terminal and gives the leader's fds 0-2 (its slave).
func (c *Child) childTerminal(s *stdio) ([]*os.File, error) {
	t, slave, err := openTerminal(c.opts.Terminal.Rows, c.opts.Terminal.Cols)
	if err != nil {
		return nil, err
	}
	s.ourEnds = append(s.ourEnds, t.master, t.input, t.ctl)
	c.term = t
	c.outs = append(c.outs, &outStream{c: c, stream: StreamStdout, f: t.master, tty: true, done: make(chan struct{})})
	c.stdin = newStdinPipe(c, t.input)
	if slave == nil {
		// Windows: no slave handle; startProc attaches the pseudo console instead.
		c.opts.console = t.console
		s.closers = append(s.closers, t.closeConsole)
		return []*os.File{nil, nil, nil}, nil
	}
	s.leaderEnds = append(s.leaderEnds, slave)
	return []*os.File{slave, slave, slave}, nil
}

// ttyEOF reports whether err ends a terminal's output: Linux answers a read of the
// master with EIO once no slave fd is open (macOS gives EOF or EIO).
func (s *outStream) ttyEOF(err error) bool {
	return s.tty && errors.Is(err, syscall.EIO)
}

// control runs fn on the master's fd unless the session is over.
func (t *terminal) control(fn func(fd uintptr) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return usage("the terminal session has ended")
	}
	rc, err := t.ctl.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(fd) }); err != nil {
		return err
	}
	return ferr
}

func (t *terminal) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		t.ctl.Close()
	}
}

// errNotTerminal is the usage error of a terminal call on a child that has none.
func errNotTerminal() error { return usage("not a terminal session") }

// Resize sets the terminal's size; the kernel sends SIGWINCH to its foreground
// process group.
func (c *Child) Resize(rows, cols int) error {
	if c.term == nil {
		return errNotTerminal()
	}
	if err := checkSize(rows, cols); err != nil {
		return err
	}
	return c.term.control(func(fd uintptr) error { return c.term.setSize(fd, rows, cols) })
}

// Foreground reports the terminal's foreground process group, its members in the
// tree, and whether one of them is proved waiting for terminal input.
func (c *Child) Foreground() (Foreground, error) {
	if c.term == nil {
		return Foreground{}, errNotTerminal()
	}
	var pgid int
	if err := c.term.control(func(fd uintptr) (err error) { pgid, err = foregroundGroup(fd); return }); err != nil {
		return Foreground{}, err
	}
	f := Foreground{Pgid: pgid, Members: []int{}, Waiting: []int{}, Proof: inputProof}
	if pgid <= 0 {
		return f, nil
	}
	for _, m := range c.groupMembers(pgid) {
		f.Members = append(f.Members, m)
		if c.term.readingTerminal(m) {
			f.Waiting = append(f.Waiting, m)
		}
	}
	f.InputWaiting = len(f.Waiting) > 0
	return f, nil
}

// SignalForeground sends sig once to every member of the tree in the terminal's
// foreground process group (each through the platform's per-process checks, never a
// bare kill of a group id that may have been re-used), and reports the group and the
// members it reached. After the leader exited it does nothing (as Signal).
func (c *Child) SignalForeground(sig int) (Foreground, []int, error) {
	f, err := c.Foreground()
	if err != nil {
		return f, nil, err
	}
	c.mu.Lock()
	exited := c.exited
	c.mu.Unlock()
	if exited || f.Pgid <= 0 {
		return f, []int{}, nil
	}
	return f, c.signalGroup(f.Pgid, sig), nil
}
