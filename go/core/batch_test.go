//go:build linux

package core

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// How Next packs output into batches: consecutive chunks of one stream merged into
// records of at most maxRecord bytes, records never cut at a batch end unless a
// chunk is larger than a whole batch, and every stream's bytes whole and in order.

func pushAll(t *testing.T, hub *Hub, evs []Event) {
	t.Helper()
	for _, ev := range evs {
		if !hub.push(ev) {
			t.Fatal("push on an open hub failed")
		}
	}
}

// drainBatches takes batches until the hub is empty, checking each against capacity.
func drainBatches(t *testing.T, hub *Hub, capacity int) (recs []Event, batches int) {
	t.Helper()
	buf := make([]byte, capacity)
	for {
		n := nextWithin(t, hub, buf, 10*time.Millisecond)
		if n == 0 {
			return recs, batches
		}
		if n < 0 || n > capacity {
			t.Fatalf("Next = %d with capacity %d", n, capacity)
		}
		batches++
		recs = append(recs, decode(t, buf[:n])...)
	}
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

func TestNextMergesConsecutiveChunksOfOneStream(t *testing.T) {
	hub := NewHub()
	defer hub.Close(time.Second)
	pushAll(t, hub, []Event{
		{Type: EvStdout, Handle: 1, Payload: fill(10000, 'a')},
		{Type: EvStdout, Handle: 1, Payload: fill(10000, 'b')},
		{Type: EvStderr, Handle: 1, Payload: fill(5, 'e')},
		{Type: EvStdout, Handle: 1, Payload: fill(7000, 'c')},
		{Type: EvStdout, Handle: 2, Payload: fill(3000, 'd')},
		{Type: EvStdout, Handle: 1, Payload: fill(1, 'f')},
		{Type: EvStdoutEnd, Handle: 1},
		{Type: EvExit, Handle: 1, Payload: []byte(`{"code":0}`)},
	})
	recs, _ := drainBatches(t, hub, 256<<10+64)
	want := []Event{
		{Type: EvStdout, Handle: 1, Payload: append(fill(10000, 'a'), fill(10000, 'b')...)},
		{Type: EvStderr, Handle: 1, Payload: fill(5, 'e')},
		{Type: EvStdout, Handle: 1, Payload: fill(7000, 'c')},
		{Type: EvStdout, Handle: 2, Payload: fill(3000, 'd')},
		{Type: EvStdout, Handle: 1, Payload: fill(1, 'f')},
		{Type: EvStdoutEnd, Handle: 1, Payload: []byte{}},
		{Type: EvExit, Handle: 1, Payload: []byte(`{"code":0}`)},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for i := range want {
		g, w := recs[i], want[i]
		if g.Type != w.Type || g.Handle != w.Handle || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("record %d: type %d handle %d len %d, want %d %d %d", i, g.Type, g.Handle, len(g.Payload), w.Type, w.Handle, len(w.Payload))
		}
	}
}

func TestNextCapsRecordsAndSplitsOnlyChunksLargerThanABatch(t *testing.T) {
	const capacity = MinBatch // the C ABI's minimum
	hub := NewHub()
	defer hub.Close(time.Second)
	var sent []byte
	var evs []Event
	for _, n := range []int{40000, 300 << 10, 100, 50000, 70000} {
		p := make([]byte, n)
		fillPattern(p, int64(len(sent)))
		sent = append(sent, p...)
		evs = append(evs, Event{Type: EvStdout, Handle: 7, Payload: p})
	}
	// Another child's record between them must stay whole where it falls.
	evs = append(evs[:1], append([]Event{{Type: EvStdout, Handle: 8, Payload: fill(40000, 'x')}}, evs[1:]...)...)
	pushAll(t, hub, evs)
	recs, batches := drainBatches(t, hub, capacity)
	var got []byte
	for _, r := range recs {
		if len(r.Payload) > maxRecord {
			t.Errorf("record of %d bytes > maxRecord %d", len(r.Payload), maxRecord)
		}
		switch r.Handle {
		case 7:
			got = append(got, r.Payload...)
		case 8:
			if !bytes.Equal(r.Payload, fill(40000, 'x')) {
				t.Errorf("the other child's record was cut or changed: %d bytes", len(r.Payload))
			}
		}
	}
	if i := firstDiff(got, sent); i >= 0 {
		t.Fatalf("stream differs at %d (got %d bytes of %d)", i, len(got), len(sent))
	}
	if min := (len(sent) + 40000) / capacity; batches < min {
		t.Errorf("%d batches, at least %d expected", batches, min)
	}
}

// Pooled read buffers go back to the pool only after Next copied them: several
// writers streaming at once (-race) keep every byte.
func TestPooledChunksAreNotReusedBeforeCopied(t *testing.T) {
	hub := NewHub()
	defer hub.Close(time.Second)
	const per, kids = 2 << 20, 4
	var wg sync.WaitGroup
	for k := 0; k < kids; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for off := 0; off < per; {
				chunk := chunkPool.Get().(*[]byte)
				n := min(len(*chunk), per-off, 1000+k*7919+off%50000)
				fillPattern((*chunk)[:n], int64(off))
				hub.push(Event{Type: EvStdout, Handle: int64(k + 1), Payload: (*chunk)[:n], chunk: chunk})
				off += n
			}
		}(k)
	}
	allPushed := make(chan struct{})
	go func() { wg.Wait(); close(allPushed) }()
	got := make([][]byte, kids)
	buf := make([]byte, 256<<10+64)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		pushed := false
		select {
		case <-allPushed:
			pushed = true
		default:
		}
		n := hub.Next(buf, 20*time.Millisecond)
		if n > 0 {
			for _, r := range decode(t, buf[:n]) {
				got[r.Handle-1] = append(got[r.Handle-1], r.Payload...)
			}
			continue
		}
		if pushed {
			break // everything was queued before this empty Next
		}
	}
	want := make([]byte, per)
	fillPattern(want, 0)
	for k := range got {
		if i := firstDiff(got[k], want); i >= 0 {
			t.Errorf("child %d: differs at %d (%d bytes)", k+1, i, len(got[k]))
		}
	}
}
