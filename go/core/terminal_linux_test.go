package core

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTerminal runs a leader on a pseudo-terminal in each containment mode: it is a
// session leader with the terminal as its controlling tty, the size follows Resize,
// writes reach it, an interactive shell waiting at its prompt is proved waiting for
// input, and the output ends (EIO on the master) when the session ends.
func TestTerminal(t *testing.T) {
	inEachMode(t, []string{"fallback", "helper"}, func(t *testing.T, h *harness, mode string) {
		c := h.start(&Options{Argv: []string{"sh", "-c", `tty; stty size; test -t 0 && echo tty0-ok; read x; stty size; echo "got=$x"`},
			Terminal: &TerminalSize{Rows: 24, Cols: 80}, Env: &[]string{"PATH=/usr/bin:/bin"}})
		h.waitStdout(c, "tty0-ok")
		out := string(h.stdout(c))
		if !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "24 80") {
			t.Fatalf("output %q: want a /dev/pts name and 24 80", out)
		}
		if err := c.Resize(40, 132); err != nil {
			t.Fatal(err)
		}
		if err := c.Write([]byte("hello\n"), 1); err != nil {
			t.Fatal(err)
		}
		o := h.waitExit(c)
		out = string(h.stdout(c))
		if !strings.Contains(out, "40 132") || !strings.Contains(out, "got=hello") {
			t.Fatalf("output %q: want 40 132 and got=hello", out)
		}
		if o.Code == nil || *o.Code != 0 || o.Truncated || len(o.Errors) > 0 {
			t.Fatalf("outcome %+v", o)
		}
		if err := c.Resize(10, 10); err == nil {
			t.Fatal("Resize after the end: no error")
		}
	})
}

func TestTerminalForeground(t *testing.T) {
	h := newHarness(t)
	withContainment(t, "helper")
	c := h.start(&Options{Argv: []string{"sh", "-i"}, Terminal: &TerminalSize{Rows: 24, Cols: 80},
		Env: &[]string{"PATH=/usr/bin:/bin", "PS1=prompt$ "}})
	h.waitStdout(c, "prompt$ ")
	var f Foreground
	deadline := time.Now().Add(bound)
	for {
		var err error
		if f, err = c.Foreground(); err != nil {
			t.Fatal(err)
		}
		if f.InputWaiting || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f.Pgid != c.Pid() || !f.InputWaiting {
		t.Fatalf("foreground %+v: want the shell (%d), waiting", f, c.Pid())
	}
	c.Write([]byte("sleep 30\n"), 1)
	for {
		f, _ = c.Foreground()
		if (f.Pgid != c.Pid() && len(f.Members) == 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if f.Pgid == c.Pid() || f.InputWaiting || len(f.Members) != 1 || f.Members[0] != f.Pgid {
		t.Fatalf("foreground %+v: want sleep's own group, not waiting", f)
	}
	g, reached, err := c.SignalForeground(int(syscall.SIGINT))
	if err != nil || g.Pgid != f.Pgid || len(reached) != 1 {
		t.Fatalf("SignalForeground: %+v %v %v", g, reached, err)
	}
	before := len(h.stdout(c))
	h.waitFor(c, "the prompt again", func(k *kid) bool { return bytes.Contains(k.stdout[before:], []byte("prompt$ ")) })
	c.Cancel(ReasonStop, 0, time.Second)
	o := h.waitExit(c)
	if o.Reason != ReasonStop {
		t.Fatalf("outcome %+v", o)
	}
}
