package core

import (
	"strings"
	"testing"
)

// TestWindowsTerminal: a leader on a pseudo console (ConPTY), in its Job Object. What
// it types reaches the leader's console input, its output comes back through the
// console, a resize is accepted, and the output ends once the leader exited (the
// console is closed then). Foreground proves nothing on Windows: "unsupported".
func TestWindowsTerminal(t *testing.T) {
	h := newWinHarness(t)
	c := h.start(&Options{Argv: helperArgv("echo-stdin"), Terminal: &TerminalSize{Rows: 24, Cols: 80}})
	if err := c.Resize(30, 100); err != nil {
		if underWine() && strings.Contains(err.Error(), "Not implemented") {
			t.Logf("Resize: %v (Wine 8 has no ResizePseudoConsole: unproven here)", err)
		} else {
			t.Errorf("Resize: %v", err)
		}
	}
	f, err := c.Foreground()
	if err != nil || f.Proof != "unsupported" || f.InputWaiting {
		t.Errorf("Foreground: %+v, %v", f, err)
	}
	// Console input: Enter is CR; ^Z at the start of a line, then Enter, is EOF.
	if err := c.Write([]byte("hello\r\x1a\r"), 1); err != nil {
		t.Fatal(err)
	}
	o := h.waitExit(c)
	out := h.stdout(c)
	if code(o) != "0" || o.Containment != "job" {
		t.Errorf("outcome %+v (code %s)", o, code(o))
	}
	if underWine() {
		// Wine 8 starts the leader on the pseudo console, in the job, and it ends, but
		// no output comes back through the console and its output pipe gets no EOF
		// when the console is closed (the drain's idle bound ends it). Pinned as an
		// expected failure: when Wine delivers, this fails and the test becomes strict
		// here too. Everything past the spawn is unproven until a Windows run.
		if strings.Contains(out, "in:hello") {
			t.Errorf("Wine now delivers ConPTY output (%q): make this test strict under Wine", out)
		} else {
			t.Logf("Wine: no ConPTY output (%q, truncated %v): unproven under Wine", out, o.Truncated)
		}
		return
	}
	if !strings.Contains(out, "in:hello") || o.Truncated || len(o.Errors) > 0 {
		t.Errorf("output %q, outcome %+v", out, o)
	}
}
