//go:build linux

package core

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

const batchCap = MinBatch // the C ABI's minimum batch

// nextWithin runs Next in a goroutine so that a Next that hangs fails the test.
func nextWithin(t *testing.T, hub *Hub, buf []byte, timeout time.Duration) int {
	t.Helper()
	res := make(chan int, 1)
	go func() { res <- hub.Next(buf, timeout) }()
	select {
	case n := <-res:
		return n
	case <-time.After(timeout + bound):
		t.Fatalf("Next(%v) did not return within %v", timeout, timeout+bound)
		return 0
	}
}

func TestHubNextReturnsZeroOnTimeout(t *testing.T) {
	hub := NewHub()
	defer hub.Close(time.Second)
	buf := make([]byte, batchCap)
	if n := nextWithin(t, hub, buf, 50*time.Millisecond); n != 0 {
		t.Errorf("Next on an empty hub = %d, want 0", n)
	}
	// pws_hub_next: "timeout_ms (0: do not block)".
	if n := nextWithin(t, hub, buf, 0); n != 0 {
		t.Errorf("Next(0) on an empty hub = %d, want 0", n)
	}
}

func TestHubNextReturnsMinusOneAfterClose(t *testing.T) {
	hub := NewHub()
	buf := make([]byte, batchCap)
	hub.push(Event{Type: EvStdout, Handle: 9, Payload: []byte("before close")})
	if !hub.Close(time.Second) {
		t.Fatal("Close of an empty hub hit its bound")
	}
	hub.Close(time.Second) // idempotent
	// What was queued before the close is still delivered, then -1, every time.
	if n := nextWithin(t, hub, buf, time.Second); n != EventHeaderSize+len("before close") {
		t.Errorf("first Next after Close = %d", n)
	}
	for _, timeout := range []time.Duration{time.Second, 0, time.Second} {
		if n := nextWithin(t, hub, buf, timeout); n != -1 {
			t.Errorf("Next(%v) after Close = %d, want -1", timeout, n)
		}
	}
}

// decode splits a batch into events, failing on a record that is cut.
func decode(t *testing.T, batch []byte) []Event {
	t.Helper()
	var evs []Event
	for off := 0; off < len(batch); {
		if len(batch)-off < EventHeaderSize {
			t.Fatalf("batch ends inside a header")
		}
		plen := int(leU32(batch[off+RecordLenAt:]))
		if off+EventHeaderSize+plen > len(batch) {
			t.Fatalf("record of %d bytes at %d cut by the batch end %d", plen, off, len(batch))
		}
		evs = append(evs, Event{Type: leU32(batch[off+RecordTypeAt:]), Handle: leI64(batch[off+RecordHandleAt:]), Aux: leI64(batch[off+RecordAuxAt:]),
			Payload: append([]byte(nil), batch[off+EventHeaderSize:off+EventHeaderSize+plen]...)})
		off += EventHeaderSize + plen
	}
	return evs
}

func TestHubBatchNeverSplitsRecordAndKeepsWhatDoesNotFit(t *testing.T) {
	hub := NewHub()
	defer hub.Close(time.Second)
	sizes := []int{40000, 40000, 10, 0, 30000, 64 << 10, 1, 64<<10 - 100, 100}
	var sent []Event
	for i, n := range sizes {
		p := bytes.Repeat([]byte{byte('a' + i)}, n)
		ev := Event{Type: EvStdout, Handle: int64(100 + i%2), Aux: int64(i), Payload: p}
		sent = append(sent, ev)
		if !hub.push(ev) {
			t.Fatal("push on an open hub failed")
		}
	}
	buf := make([]byte, batchCap)
	var got []Event
	for batches := 0; len(got) < len(sent); batches++ {
		if batches > len(sent) {
			t.Fatalf("%d batches for %d events", batches, len(sent))
		}
		n := nextWithin(t, hub, buf, time.Second)
		if n <= 0 {
			t.Fatalf("Next = %d with %d events still queued", n, len(sent)-len(got))
		}
		got = append(got, decode(t, buf[:n])...)
	}
	for i := range sent {
		g, w := got[i], sent[i]
		if g.Type != w.Type || g.Handle != w.Handle || g.Aux != w.Aux || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("event %d: got type %d handle %d aux %d len %d, want %d %d %d %d", i, g.Type, g.Handle, g.Aux, len(g.Payload), w.Type, w.Handle, w.Aux, len(w.Payload))
		}
	}
	if n := nextWithin(t, hub, buf, 10*time.Millisecond); n != 0 {
		t.Errorf("Next after the last event = %d, want 0", n)
	}
}

func TestHubCloseCancelsRunningChildrenWithReasonHost(t *testing.T) {
	h := newHarness(t)
	tree, pids := startTree(h, &Options{})
	term := h.start(&Options{Argv: helperArgv("ignore-term"), Stdout: StdioPipe})
	h.waitStdout(term, "ready")
	done := h.start(&Options{Argv: helperArgv("write", "", "", "0")})
	waitDone(t, done)
	if !h.hub.Close(bound) {
		t.Fatalf("Close hit its bound")
	}
	for _, c := range []*Child{tree, term} {
		o := h.waitExit(c)
		if o.Reason != ReasonHost || sig(o) != "SIGKILL" {
			t.Errorf("child %d: reason %q signal %s, want host SIGKILL", c.ID(), o.Reason, sig(o))
		}
	}
	assertAllDead(t, "after Close", append(pids, term.Pid())...)
	h.waitFor(done, "Next = -1", func(*kid) bool { return h.hubDone })
	if o := h.kidCopy(done).outcome; o == nil || o.Reason != ReasonExit {
		t.Errorf("a child that had ended: outcome %+v", o)
	}
}

// Many children on one hub: each child's stream stays whole and in order while
// their records interleave in the shared queue.
func TestManyChildrenShareOneHub(t *testing.T) {
	const kids, n = 16, 1 << 20
	h := newHarness(t)
	var cs []*Child
	for i := 0; i < kids; i++ {
		cs = append(cs, h.start(&Options{Argv: helperArgv("pattern", strconv.Itoa(n), strconv.Itoa(1000+i*997)), Stdout: StdioPipe}))
	}
	want := make([]byte, n)
	fillPattern(want, 0)
	for _, c := range cs {
		o := h.waitExit(c)
		if i := firstDiff(h.stdout(c), want); i >= 0 || o.StdoutBytes != n {
			t.Errorf("child %d: differs at %d, %d bytes", c.ID(), i, o.StdoutBytes)
		}
	}
}
