package core

// Terminal sessions on Windows: a pseudo console (ConPTY, CreatePseudoConsole) fed
// by two of the core's pipes; the leader is attached to it with
// PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE and is in its Job Object like every leader.
// Compiled and vetted here; what Wine runs of it is in the tests' notes. There is no
// foreground process group to ask for, and no proof of a read of the console.

import (
	"os"

	"golang.org/x/sys/windows"
)

const inputProof = "unsupported"

// openTerminal makes the pseudo console. The master the output stream reads is the
// parent's (overlapped) end of the output pipe; the input is the parent's end of the
// input pipe; ctl is a second handle on the input pipe, only so that control() has a
// file to hold while it resizes. No slave file: the leader gets the console itself.
func openTerminal(rows, cols int) (t *terminal, slave *os.File, err error) {
	outR, outW, err := newPipe(true)
	if err != nil {
		return nil, nil, &Error{Code: "EMFILE", Syscall: "pipe", Msg: err.Error(), Err: err}
	}
	inR, inW, err := newPipe(false)
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, &Error{Code: "EMFILE", Syscall: "pipe", Msg: err.Error(), Err: err}
	}
	var pc windows.Handle
	err = windows.CreatePseudoConsole(windows.Coord{X: int16(cols), Y: int16(rows)}, windows.Handle(inR.Fd()), windows.Handle(outW.Fd()), 0, &pc)
	// The console holds its own copies of its ends.
	inR.Close()
	outW.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		code, errno := errnoCode(err)
		return nil, nil, &Error{Code: code, Syscall: "CreatePseudoConsole", Errno: errno, Err: err,
			Msg: "terminal: CreatePseudoConsole: " + err.Error()}
	}
	self := windows.CurrentProcess()
	var dup windows.Handle
	if err := windows.DuplicateHandle(self, windows.Handle(inW.Fd()), self, &dup, 0, false, windows.DUPLICATE_SAME_ACCESS); err != nil {
		windows.ClosePseudoConsole(pc)
		outR.Close()
		inW.Close()
		return nil, nil, &Error{Code: "EBADF", Syscall: "DuplicateHandle", Msg: err.Error(), Err: err}
	}
	return &terminal{master: outR, input: inW, ctl: os.NewFile(uintptr(dup), "|conpty-ctl"), name: "conpty", console: uintptr(pc)}, nil, nil
}

func (t *terminal) setSize(fd uintptr, rows, cols int) error {
	if t.console == 0 {
		return usage("the terminal session has ended")
	}
	return windows.ResizePseudoConsole(windows.Handle(t.console), windows.Coord{X: int16(cols), Y: int16(rows)})
}

// leaderExited closes the pseudo console: ConPTY keeps its output pipe open (no EOF
// for the drain) until then. What it still had to write is flushed first.
func (t *terminal) leaderExited() { t.closeConsole() }

func (t *terminal) closeConsole() {
	t.mu.Lock()
	pc := t.console
	t.console = 0
	t.mu.Unlock()
	if pc != 0 {
		windows.ClosePseudoConsole(windows.Handle(pc))
	}
}

// foregroundGroup: Windows consoles have no foreground process group to ask for.
func foregroundGroup(fd uintptr) (int, error) { return 0, nil }

func (t *terminal) readingTerminal(pid int) bool { return false }
func (c *Child) groupMembers(pgid int) []int     { return nil }
func (c *Child) signalGroup(pgid, sig int) []int { return []int{} }
