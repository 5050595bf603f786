//go:build linux

package core

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// HoldLeftovers: the leader's natural exit brings CLOSE (the outcome so far, leftovers
// listed) but not EXIT; the leftover stays ours, so a cancel after the close still
// kills it, and EXIT then says so.
func TestHoldLeftoversCancelAfterCloseKillsLeftovers(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "ignore-term"), Stdout: StdioPipe, HoldLeftovers: true, GraceMs: i64(300)})
	h.waitFor(c, "CLOSE", func(k *kid) bool { return k.closed != nil })
	gc := h.trackPrinted(c)[0]
	closed := h.kidCopy(c).closed
	if closed.Reason != ReasonExit || closed.Code == nil || *closed.Code != 0 || !slices.Contains(closed.Leftovers, gc) {
		t.Errorf("close outcome %+v: want exit 0 with leftover %d", closed, gc)
	}
	// Held: no EXIT while the TERM-ignoring grandchild lives.
	if h.waitForWithin(c, 500*time.Millisecond, func(k *kid) bool { return k.exited }) {
		t.Fatalf("EXIT came while the leftover %d lives (alive %v): %s types %v", gc, alive(gc), h.kidCopy(c).raw, h.kidCopy(c).types)
	}
	if !alive(gc) {
		t.Fatalf("leftover %d died by itself", gc)
	}
	c.Cancel(ReasonStop, 0, -1)
	o := h.waitExit(c)
	assertAllDead(t, "cancel after close", gc, c.Pid())
	if o.Reason != ReasonStop || o.Phases.KillMs == 0 {
		t.Errorf("exit outcome %s: want reason stop after a SIGKILL", h.kidCopy(c).raw)
	}
}

// HoldLeftovers: a leftover that exits by itself ends the hold; EXIT comes with reason exit.
func TestHoldLeftoversEndsWhenLeftoversExit(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("fork", "exit", "0", "sleep"), Stdout: StdioPipe, HoldLeftovers: true})
	h.waitFor(c, "CLOSE", func(k *kid) bool { return k.closed != nil })
	gc := h.trackPrinted(c)[0]
	if h.waitForWithin(c, 300*time.Millisecond, func(k *kid) bool { return k.exited }) {
		t.Fatalf("EXIT came while the leftover %d lives (alive %v): %s types %v", gc, alive(gc), h.kidCopy(c).raw, h.kidCopy(c).types)
	}
	syscall.Kill(gc, syscall.SIGKILL) // our own tracked grandchild
	o := h.waitExit(c)
	if o.Reason != ReasonExit || o.Code == nil || *o.Code != 0 {
		t.Errorf("exit outcome %s: want exit 0", h.kidCopy(c).raw)
	}
	assertAllDead(t, "leftover gone", gc, c.Pid())
}

// Without leftovers, HoldLeftovers is CLOSE then EXIT at once.
func TestHoldLeftoversWithoutLeftovers(t *testing.T) {
	h := newHarness(t)
	c := h.start(&Options{Argv: helperArgv("echo", "hi"), Stdout: StdioPipe, HoldLeftovers: true})
	o := h.waitExit(c)
	k := h.kidCopy(c)
	if k.closed == nil || o.Reason != ReasonExit || len(o.Leftovers) != 0 {
		t.Errorf("want CLOSE then EXIT with no leftovers; closed %+v exit %s", k.closed, k.raw)
	}
	if i, j := slices.Index(k.types, EvClose), slices.Index(k.types, EvExit); i < 0 || i > j {
		t.Errorf("event order %v: CLOSE must precede EXIT", k.types)
	}
}
